/**
 * Where fid F lives on a device, in the original layout:
 * `/dev<devid>/<b>/<mmm>/<ttt>/<0000000000F>.fid`, the fid zero-padded to 10
 * digits and its first 7 digits split 1/3/3 (MogileFS::FID / DevFID).
 */
export function fidPathOnDevice(devid: number, fid: number): string {
  const nfid = String(fid).padStart(10, '0');
  return `/dev${devid}/${nfid[0]}/${nfid.slice(1, 4)}/${nfid.slice(4, 7)}/${nfid}.fid`;
}

/** The full URL of a fid on a device of a host: `http://hostip:port/dev<devid>/...`. */
export function fidUrl(hostip: string, port: number, devid: number, fid: number): string {
  return `http://${hostip}:${port}${fidPathOnDevice(devid, fid)}`;
}
