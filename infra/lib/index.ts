// The CDK entry point for users adding greygate to their own stack (docs/deploy.md, "Use it in
// your own CDK app"): the construct, its props, and the helpers that build settings.

export { Greygate, type GreygateProps } from './greygate.ts';
export type { GreygatePolicySettings, GreygateSettings } from './stack-props.ts';
export { DEFAULT_SETTINGS } from './stack-props.ts';
export { GreygateContextError, parseGreygateContext, readGreygateContext } from './greygate-context.ts';
