// The reason a failed decode reports: the specific libvips line, never only the generic failOn one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharpFailure } from '../../server/data/sharpError';

test('a failed decode is explained by its specific line, or as corrupt/truncated data', () => {
  assert.equal(sharpFailure(new Error('Input buffer has corrupt header: VipsJpeg: premature end of JPEG image')), 'Input buffer has corrupt header: VipsJpeg: premature end of JPEG image');
  assert.equal(sharpFailure(new Error('Warning treated as error due to failOn setting\nVipsJpeg: premature end of JPEG image')), 'VipsJpeg: premature end of JPEG image');
  assert.match(sharpFailure(new Error('Warning treated as error due to failOn setting')), /corrupt or truncated/);
});

test("a line from another format's decode (libvips shares one error buffer) is not this file's reason", () => {
  const mixed = new Error('Warning treated as error due to failOn setting\npngload_buffer: libspng read error');
  assert.match(sharpFailure(mixed, 'jpeg'), /^corrupt or truncated image data/);
  assert.equal(sharpFailure(mixed, 'png'), 'pngload_buffer: libspng read error');
  assert.equal(sharpFailure(mixed), 'pngload_buffer: libspng read error');
  assert.equal(sharpFailure(new Error('pngload_buffer: libspng read error\nVipsJpeg: premature end of JPEG image'), 'jpeg'), 'VipsJpeg: premature end of JPEG image');
  assert.equal(sharpFailure(new Error('Input file has corrupt header: unknown reason'), 'gif'), 'Input file has corrupt header: unknown reason');
  assert.equal(sharpFailure(new Error('heifload: Invalid input: No ftyp box'), 'avif'), 'heifload: Invalid input: No ftyp box');
});
