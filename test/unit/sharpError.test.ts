// The reason a failed decode reports: the specific libvips line, never only the generic failOn one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharpFailure } from '../../server/data/sharpError';

test('a failed decode is explained by its specific line, or as corrupt/truncated data', () => {
  assert.equal(sharpFailure(new Error('Input buffer has corrupt header: VipsJpeg: premature end of JPEG image')), 'Input buffer has corrupt header: VipsJpeg: premature end of JPEG image');
  assert.equal(sharpFailure(new Error('Warning treated as error due to failOn setting\nVipsJpeg: premature end of JPEG image')), 'VipsJpeg: premature end of JPEG image');
  assert.match(sharpFailure(new Error('Warning treated as error due to failOn setting')), /corrupt or truncated/);
});
