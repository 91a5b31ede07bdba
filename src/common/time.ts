/** Unix seconds now: the time unit of every MogileFS table (nexttry, createtime, mb_asof...). */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
