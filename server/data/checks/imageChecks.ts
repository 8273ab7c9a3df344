// Checks that look at one image at a time, against a fixed threshold.
import type { ImageFeatures } from './imageFeatures';
import type { IssueKind, Thresholds } from './thresholds';
import type { IssueDetail } from './types';

const round = (v: number) => Math.round(v * 1000) / 1000;

export function singleImageIssues(f: ImageFeatures, t: Thresholds): { kind: IssueKind; detail: IssueDetail }[] {
  const out: { kind: IssueKind; detail: IssueDetail }[] = [];
  if (f.brightnessP99 < t.dark) {
    out.push({ kind: 'dark', detail: { message: `brightest pixels at ${round(f.brightnessP99)} of full scale`, value: round(f.brightnessP99), threshold: t.dark } });
  }
  const lightScore = 1 - f.brightnessP5;
  if (lightScore < t.light) {
    out.push({ kind: 'light', detail: { message: `darkest pixels at ${round(f.brightnessP5)} of full scale`, value: round(lightScore), threshold: t.light } });
  }
  const blurScore = 1 - Math.exp(-f.edgeVariance * t.blurryNormalizingFactor);
  if (blurScore < t.blurry) {
    out.push({ kind: 'blurry', detail: { message: `edge variance ${round(f.edgeVariance)}`, value: round(blurScore), threshold: t.blurry } });
  }
  const infoScore = Math.min(1, f.entropy * t.lowInformationNormalizingFactor);
  if (infoScore < t.lowInformation) {
    out.push({ kind: 'low_information', detail: { message: `entropy ${round(f.entropy)} bits`, value: round(infoScore), threshold: t.lowInformation } });
  }
  const aspect = Math.min(f.width / f.height, f.height / f.width);
  if (aspect < t.oddAspectRatio) {
    out.push({ kind: 'odd_aspect_ratio', detail: { message: `${f.width}x${f.height}`, value: round(aspect), threshold: t.oddAspectRatio } });
  }
  return out;
}
