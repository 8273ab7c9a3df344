// libvips reports a failed decode on several lines, and under concurrent
// decodes the first one is sometimes only the generic "Warning treated as error
// due to failOn setting" (seen in CI for a truncated JPEG that locally says
// "VipsJpeg: premature end of JPEG image"). Keep the line that says what is wrong.
const GENERIC = /failOn setting/i;

export function sharpFailure(err: unknown): string {
  const lines = String((err as Error)?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const specific = lines.find((l) => !GENERIC.test(l));
  return specific ?? 'corrupt or truncated image data (the decoder stopped on a warning)';
}
