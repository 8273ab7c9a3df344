/** A model file (.pth, .npy, …) that cannot be used; the message is one line naming the file and the problem. */
export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    readonly problem: string,
  ) {
    super(`${file}: ${problem}`);
    this.name = 'ModelFileError';
  }
}
