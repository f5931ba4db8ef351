/**
 * 68-point iBUG / 300-W layout from the 468-point MediaPipe face mesh that @vladmandic/human runs.
 *
 * Each iBUG point is anchored on one mesh vertex (the usual MediaPipe-to-dlib table below) and refined by a
 * small fitted regression over that vertex's neighbours (see docs/alignments.md). Points are in
 * iBUG order, 0-based: jaw 0-16 (from the subject's right ear, image left, round the chin), right brow 17-21,
 * left brow 22-26, nose bridge 27-30, nostrils 31-35, right eye 36-41, left eye 42-47, outer lips 48-59,
 * inner lips 60-67. "Right" is the subject's right, on the image's left for a frontal face.
 */
import type { Point2 } from './types';

/** Anchor mesh vertex of each iBUG-68 point (the widely used MediaPipe -> dlib-68 correspondence). */
export const IBUG68_FROM_MESH: ReadonlyArray<number> = [
  // jaw 0-16
  127, 234, 132, 58, 172, 150, 176, 148, 152, 377, 400, 379, 397, 288, 361, 454, 356,
  // right brow 17-21 (outer to inner), left brow 22-26 (inner to outer)
  70, 63, 105, 66, 107, 336, 296, 334, 293, 300,
  // nose bridge 27-30, nostrils 31-35
  168, 197, 5, 4, 75, 97, 2, 326, 305,
  // right eye 36-41: outer corner, upper lid x2, inner corner, lower lid x2
  33, 160, 158, 133, 153, 144,
  // left eye 42-47: inner corner, upper lid x2, outer corner, lower lid x2
  362, 385, 387, 263, 373, 380,
  // outer lips 48-59 (right corner, upper lip, left corner, lower lip)
  61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
  // inner lips 60-67
  78, 82, 13, 312, 308, 317, 14, 87,
];

/**
 * Regression weights: iBUG point i = sum of w * mesh[j] over its row (weights sum to 1, so the mapping commutes
 * with any similarity transform). Each row is the vertex above plus its 5 nearest mesh neighbours; the weights
 * were fitted by ridge least squares (lambda 0.001 towards the anchor vertex alone, error normalised by the
 * outer-eye distance) on dlib_pascal's 4 "training" images (17 faces found of 18) by `scripts/fit-ibug68.ts`, and
 * tested on the held-out 5 "testing" images (25 faces) and the 2 human-annotated 300-W faces: NME 0.0404 / 0.0527
 * (0.0385 / 0.0494 with the mirrored pass averaged in, `DetectOptions.mirror`); single vertices 0.0535 / 0.0584.
 * Each row sums to exactly 1 (the anchor weight takes the rounding).
 * Regenerate them with that script if the mesh model changes.
 */
export const IBUG68_WEIGHTS: ReadonlyArray<ReadonlyArray<readonly [number, number]>> = [
  [
    [127, 0.525],
    [34, 0.576],
    [143, 0.386],
    [35, -0.261],
    [139, -0.021],
    [156, -0.205],
  ], // 0
  [
    [234, 0.271],
    [227, 0.465],
    [116, 0.341],
    [123, 0.23],
    [111, -0.462],
    [137, 0.155],
  ], // 1
  [
    [132, 0.191],
    [177, 0.598],
    [147, 0.742],
    [213, 0.066],
    [187, -0.462],
    [215, -0.135],
  ], // 2
  [
    [58, 0.003],
    [215, 0.361],
    [192, 0.135],
    [138, 0.56],
    [213, 0.406],
    [214, -0.465],
  ], // 3
  [
    [172, 0.794],
    [135, 0.24],
    [138, 1.042],
    [136, -0.369],
    [214, -0.273],
    [58, -0.434],
  ], // 4
  [
    [150, 0.873],
    [170, 0.102],
    [169, 0.693],
    [149, -0.379],
    [211, -0.378],
    [136, 0.089],
  ], // 5
  [
    [176, 1.109],
    [140, 0.407],
    [171, -0.134],
    [149, 0.259],
    [148, -0.43],
    [208, -0.211],
  ], // 6
  [
    [148, 1.36],
    [171, 0.348],
    [176, -0.011],
    [208, -0.312],
    [152, -0.211],
    [175, -0.174],
  ], // 7
  [
    [152, 1.306],
    [175, 0.225],
    [199, -0.332],
    [148, -0.046],
    [377, -0.032],
    [396, -0.121],
  ], // 8
  [
    [377, 1.285],
    [396, 0.176],
    [400, 0.049],
    [428, -0.306],
    [152, -0.039],
    [175, -0.165],
  ], // 9
  [
    [400, 1.204],
    [369, 0.254],
    [396, -0.286],
    [378, 0.315],
    [377, -0.335],
    [262, -0.152],
  ], // 10
  [
    [379, 1.006],
    [395, -0.005],
    [394, 0.273],
    [378, -0.177],
    [431, -0.305],
    [365, 0.208],
  ], // 11
  [
    [397, 0.926],
    [367, 0.72],
    [364, 0.184],
    [365, -0.114],
    [434, -0.39],
    [288, -0.326],
  ], // 12
  [
    [288, 0.457],
    [435, 0.648],
    [367, 0.569],
    [416, -0.529],
    [433, 0.01],
    [397, -0.155],
  ], // 13
  [
    [361, 0.318],
    [401, 0.577],
    [376, 0.511],
    [433, 0.107],
    [435, 0.062],
    [411, -0.575],
  ], // 14
  [
    [454, 0.334],
    [447, 0.559],
    [345, -0.496],
    [352, -0.069],
    [366, 0.695],
    [264, -0.023],
  ], // 15
  [
    [356, 1.064],
    [264, 0.37],
    [372, -0.583],
    [368, -0.107],
    [447, 0.673],
    [454, -0.417],
  ], // 16
  [
    [70, 1.01],
    [46, 0.083],
    [71, -0.082],
    [63, -0.139],
    [156, 0.179],
    [53, -0.051],
  ], // 17
  [
    [63, 0.774],
    [53, 0.002],
    [68, 0.082],
    [70, 0],
    [46, 0.112],
    [105, 0.03],
  ], // 18
  [
    [105, 0.641],
    [52, -0.217],
    [53, -0.119],
    [63, -0.084],
    [104, 0.263],
    [223, 0.516],
  ], // 19
  [
    [66, 1.12],
    [65, -0.194],
    [52, -0.356],
    [222, 0.382],
    [105, 0.066],
    [223, -0.018],
  ], // 20
  [
    [107, 0.902],
    [55, -0.066],
    [65, -0.119],
    [221, 0.371],
    [66, -0.097],
    [9, 0.009],
  ], // 21
  [
    [336, 0.892],
    [285, -0.09],
    [295, -0.091],
    [441, 0.326],
    [296, -0.066],
    [9, 0.029],
  ], // 22
  [
    [296, 1.012],
    [295, -0.143],
    [442, 0.271],
    [282, -0.202],
    [334, 0.037],
    [443, 0.025],
  ], // 23
  [
    [334, 0.803],
    [282, -0.128],
    [283, -0.047],
    [293, -0.049],
    [443, 0.287],
    [333, 0.134],
  ], // 24
  [
    [293, 0.829],
    [283, 0.003],
    [300, 0.02],
    [276, 0.125],
    [298, 0.028],
    [334, -0.005],
  ], // 25
  [
    [300, 0.968],
    [276, 0.002],
    [301, -0.023],
    [293, -0.231],
    [383, 0.136],
    [353, 0.148],
  ], // 26
  [
    [168, 0.956],
    [8, -0.173],
    [193, 0.027],
    [417, 0.015],
    [6, 0.06],
    [351, 0.115],
  ], // 27
  [
    [197, 0.892],
    [196, 0.018],
    [419, 0.203],
    [195, -0.155],
    [6, -0.071],
    [122, 0.113],
  ], // 28
  [
    [5, 0.691],
    [51, -0.164],
    [281, -0.098],
    [195, 0.066],
    [3, 0.229],
    [248, 0.276],
  ], // 29
  [
    [4, 0.842],
    [275, 0.107],
    [1, -0.082],
    [44, 0.006],
    [274, 0.127],
  ], // 30
  [
    [75, 0.981],
    [59, -0.002],
    [240, 0.05],
    [166, 0.01],
    [79, -0.034],
    [218, -0.005],
  ], // 31
  [
    [97, 0.933],
    [99, -0.035],
    [20, 0.044],
    [60, 0.006],
    [242, 0.032],
    [241, 0.02],
  ], // 32
  [
    [2, 1.152],
    [94, 0.038],
    [19, -0.07],
    [370, 0.035],
    [141, -0.115],
    [354, -0.04],
  ], // 33
  [
    [326, 0.944],
    [328, 0.004],
    [290, 0.057],
    [250, -0.003],
    [462, -0.051],
    [458, 0.049],
  ], // 34
  [
    [305, 0.998],
    [392, 0.072],
    [460, 0.227],
    [309, -0.214],
    [438, -0.083],
  ], // 35
  [
    [33, 0.967],
    [246, 0.063],
    [130, -0.204],
    [7, 0.308],
    [25, 0.165],
    [247, -0.299],
  ], // 36
  [
    [160, 0.957],
    [161, -0.135],
    [159, 0.214],
    [163, 0.25],
    [29, -0.113],
    [246, -0.173],
  ], // 37
  [
    [158, 0.879],
    [159, -0.163],
    [157, -0.038],
    [28, 0.004],
    [153, 0.29],
    [56, 0.028],
  ], // 38
  [
    [133, 1.018],
    [155, 0.142],
    [173, 0.016],
    [243, -0.088],
    [112, 0.185],
    [190, -0.273],
  ], // 39
  [
    [153, 1.017],
    [22, 0.06],
    [154, -0.023],
    [145, 0.057],
    [26, 0.024],
    [157, -0.135],
  ], // 40
  [
    [144, 1.01],
    [163, -0.041],
    [24, 0.063],
    [145, 0.08],
    [160, -0.117],
    [110, 0.005],
  ], // 41
  [
    [362, 1.14],
    [382, 0.267],
    [398, 0.226],
    [341, 0.088],
    [463, -0.29],
    [414, -0.431],
  ], // 42
  [
    [385, 0.952],
    [386, -0.024],
    [384, -0.005],
    [258, -0.049],
    [380, 0.173],
    [286, -0.047],
  ], // 43
  [
    [387, 0.882],
    [388, -0.187],
    [386, 0.058],
    [390, 0.055],
    [259, -0.025],
    [373, 0.217],
  ], // 44
  [
    [263, 0.97],
    [466, 0.008],
    [359, -0.147],
    [249, 0.238],
    [255, 0.244],
    [467, -0.313],
  ], // 45
  [
    [373, 0.969],
    [254, 0.185],
    [390, 0.031],
    [374, -0.12],
    [387, -0.125],
    [253, 0.06],
  ], // 46
  [
    [380, 1.027],
    [252, 0.082],
    [381, -0.102],
    [374, 0.188],
    [384, -0.132],
    [256, -0.063],
  ], // 47
  [
    [61, 1.079],
    [76, 0.049],
    [185, -0.097],
    [62, 0.018],
    [184, -0.039],
    [78, -0.01],
  ], // 48
  [
    [39, 0.71],
    [73, -0.122],
    [80, 0.075],
    [74, 0.112],
    [42, 0.176],
    [40, 0.049],
  ], // 49
  [
    [37, 1.011],
    [72, 0.087],
    [38, 0.118],
    [82, 0.08],
    [81, -0.116],
    [167, -0.18],
  ], // 50
  [
    [0, 0.835],
    [11, -0.022],
    [12, 0.107],
    [13, 0.18],
    [72, 0.022],
    [37, -0.122],
  ], // 51
  [
    [267, 0.942],
    [302, -0.024],
    [268, 0.031],
    [312, 0.073],
    [393, -0.054],
    [311, 0.032],
  ], // 52
  [
    [269, 0.649],
    [303, -0.174],
    [310, 0.047],
    [304, 0.329],
    [272, 0.275],
    [271, -0.126],
  ], // 53
  [
    [291, 1.256],
    [306, 0.149],
    [292, 0.026],
    [409, -0.194],
    [308, -0.065],
    [408, -0.172],
  ], // 54
  [
    [405, 1.003],
    [404, -0.026],
    [406, 0.115],
    [403, -0.058],
    [321, 0.248],
    [315, -0.282],
  ], // 55
  [
    [314, 1.018],
    [315, -0.032],
    [313, 0.047],
    [316, -0.103],
    [405, -0.007],
    [17, 0.077],
  ], // 56
  [
    [17, 1.031],
    [16, 0.013],
    [18, 0.073],
    [15, -0.055],
    [84, -0.03],
    [314, -0.032],
  ], // 57
  [
    [84, 1.036],
    [85, -0.024],
    [83, 0.073],
    [86, -0.109],
    [181, 0.028],
    [17, -0.004],
  ], // 58
  [
    [181, 1.037],
    [180, 0.002],
    [182, 0.026],
    [179, -0.067],
    [91, 0.22],
    [85, -0.218],
  ], // 59
  [
    [78, 0.836],
    [62, -0.079],
    [184, -0.011],
    [183, -0.002],
    [76, -0.014],
    [77, 0.27],
  ], // 60
  [
    [82, 0.941],
    [38, 0.173],
    [72, 0.158],
    [81, -0.106],
    [12, 0.004],
    [13, -0.17],
  ], // 61
  [
    [13, 1.074],
    [12, 0.153],
    [11, 0.084],
    [0, -0.112],
    [82, -0.151],
    [312, -0.048],
  ], // 62
  [
    [312, 0.943],
    [268, 0.129],
    [302, 0.149],
    [311, -0.11],
    [267, 0.018],
    [13, -0.129],
  ], // 63
  [
    [308, 0.96],
    [292, 0.082],
    [408, -0.04],
    [407, -0.04],
    [306, 0.199],
    [409, -0.161],
  ], // 64
  [
    [317, 0.91],
    [316, 0.06],
    [315, 0.255],
    [402, -0.104],
    [14, -0.131],
    [403, 0.01],
  ], // 65
  [
    [14, 0.806],
    [15, 0.062],
    [16, 0.418],
    [87, -0.189],
    [317, -0.187],
    [13, 0.09],
  ], // 66
  [
    [87, 0.9],
    [86, 0.059],
    [85, 0.256],
    [178, -0.081],
    [179, 0.047],
    [14, -0.181],
  ], // 67
];

/** The 68 iBUG points of a 468 (or 478) point mesh, in the mesh's coordinates. */
export function meshToIbug68(mesh: ReadonlyArray<readonly number[]>): Point2[] {
  return IBUG68_WEIGHTS.map((row) => {
    let x = 0,
      y = 0;
    for (const [j, w] of row) {
      x += w * mesh[j]![0]!;
      y += w * mesh[j]![1]!;
    }
    return [x, y] as Point2;
  });
}

/** The 68 points with the single vertices of `IBUG68_FROM_MESH` (the common mapping, for comparison). */
export function meshToIbug68Vertices(mesh: ReadonlyArray<readonly number[]>): Point2[] {
  return IBUG68_FROM_MESH.map((m) => {
    const i = typeof m === 'number' ? m : m[0]!;
    const p = mesh[i]!;
    return [p[0]!, p[1]!] as Point2;
  });
}

/** Index ranges of the iBUG parts (start inclusive, end exclusive). */
export const IBUG_PARTS = {
  jaw: [0, 17],
  rightBrow: [17, 22],
  leftBrow: [22, 27],
  nose: [27, 36],
  rightEye: [36, 42],
  leftEye: [42, 48],
  mouthOuter: [48, 60],
  mouthInner: [60, 68],
} as const;

/** Outer eye corners |p36 - p45|: the 300-W normalisation distance. */
export function outerEyeDistance(lm: readonly Point2[]): number {
  const a = lm[36]!,
    b = lm[45]!;
  return Math.hypot(a[0] - b[0], a[1] - b[1]);
}

/** Distance between the eye centres (means of points 36-41 and 42-47). */
export function interPupilDistance(lm: readonly Point2[]): number {
  let rx = 0,
    ry = 0,
    lx = 0,
    ly = 0;
  for (let i = 36; i < 42; i++) {
    rx += lm[i]![0];
    ry += lm[i]![1];
  }
  for (let i = 42; i < 48; i++) {
    lx += lm[i]![0];
    ly += lm[i]![1];
  }
  return Math.hypot((rx - lx) / 6, (ry - ly) / 6);
}

/**
 * iBUG index of each point's mirror image (left-right flip of the face): jaw i <-> 16 - i, brows, eyes, nostrils
 * and lips swap sides, the points on the centre line map to themselves.
 */
export const IBUG68_MIRROR: ReadonlyArray<number> = [
  ...Array.from({ length: 17 }, (_, i) => 16 - i),
  ...[26, 25, 24, 23, 22, 21, 20, 19, 18, 17],
  ...[27, 28, 29, 30, 35, 34, 33, 32, 31],
  ...[45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40],
  ...[54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55],
  ...[64, 63, 62, 61, 60, 67, 66, 65],
];

/**
 * The 68 points of a mesh predicted on a mirrored crop (its points already mapped back to source pixels): the
 * mesh's labels are mirrored (its "right eye" is the subject's left), so the iBUG points swap by `IBUG68_MIRROR`.
 */
export function mirroredIbug68(mesh: ReadonlyArray<readonly number[]>): Point2[] {
  const lm = meshToIbug68(mesh);
  return IBUG68_MIRROR.map((j) => lm[j]!);
}

/**
 * Confidence of each point from two independent estimates (direct and mirrored pass): 1 where they agree,
 * falling as exp(-d / (0.05 * outer-eye distance)), so a disagreement of 5% of the eye distance (about the mean
 * landmark error) gives 0.37.
 */
export function pointConfidence(a: readonly Point2[], b: readonly Point2[]): number[] {
  const s = 0.05 * Math.max(1e-6, (outerEyeDistance(a) + outerEyeDistance(b)) / 2);
  return a.map((p, i) => Math.round(Math.exp(-Math.hypot(p[0] - b[i]![0], p[1] - b[i]![1]) / s) * 1000) / 1000);
}
