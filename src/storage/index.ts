// The storage node (mogstored): HTTP GET/HEAD/PUT/DELETE/MKCOL over dev<N>/
// directories in the original on-disk layout, the dev<N>/usage files the
// tracker's monitor reads, and the side channel (size, md5, watch).
export { startStorageNode, type StorageNode, type StorageNodeOptions } from './node';
export { DEFAULT_HTTP_TIMEOUTS, type HttpTimeouts } from './http';
export { parseDevicePath, PathError, type DevicePath } from './paths';
export { formatUsage, listDevices, type DeviceUsage } from './usage';
export { TEMP_PREFIX, isTempName } from './put';
