// Where the function's code asset puts the handler, whether built at synth (lambda-asset.ts) or
// shipped in the package (lambda-asset-packaged.ts).

/** The file name inside the asset; the function's handler is `index.handler`. */
export const LAMBDA_ASSET_FILE = 'index.mjs';
export const LAMBDA_HANDLER = 'index.handler';
