// libvips reports a failed decode on several lines, and under concurrent
// decodes its error buffer, shared by the process, mixes them up: the first
// line is sometimes only the generic "Warning treated as error due to failOn
// setting" (seen in CI for a truncated JPEG that locally says "VipsJpeg:
// premature end of JPEG image"), and a JPEG's error can carry a PNG decoded
// beside it ("pngload_buffer: libspng read error", seen in CI). Keep the line
// that says what is wrong with this file.
const GENERIC = /failOn setting/i;

/** The names libvips's loaders and messages use for each format (HEIC and AVIF go through its heif loader). */
const HEIF = /heif|heic|avif/i;
const FORMAT_NAMES: Record<string, RegExp> = {
  jpeg: /jpe?g/i,
  png: /png/i,
  gif: /gif/i,
  webp: /webp/i,
  tiff: /tiff/i,
  heif: HEIF,
  heic: HEIF,
  avif: HEIF,
};

/** Whether `line` names only formats other than `format` (another decode's error). */
function otherFormats(line: string, format: string | undefined): boolean {
  const own = format === undefined ? undefined : FORMAT_NAMES[format];
  if (!own || own.test(line)) return false;
  return Object.values(FORMAT_NAMES).some((names) => names !== own && names.test(line));
}

/** Why sharp failed on a file of `format` (as sniffed or read from its header, when known). */
export function sharpFailure(err: unknown, format?: string): string {
  const lines = String((err as Error)?.message ?? err)
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const specific = lines.find((l) => !GENERIC.test(l) && !otherFormats(l, format));
  return specific ?? 'corrupt or truncated image data (the decoder stopped on a warning)';
}
