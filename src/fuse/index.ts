// The FUSE mount: a thin translation of fuse-native's callbacks into calls on
// a Vfs (src/vfs), plus mounting, unmounting and the "is FUSE usable" probe.
export { mountVfs, prepareMountpoint } from './mount';
export type { MountOptions, Mounted } from './mount';
export { fuseProblem, loadFuse } from './binding';
