// Small pieces every role shares: the logger and the original's fid path layout.
export * from './log';
export * from './fidpath';
export * from './time';
