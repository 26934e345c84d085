export * from "./import";
export * from "./json-text";
export * from "./label-config";
export * from "./openapi";
export * from "./pagination";
export * from "./project";
export * from "./rest";
export * from "./task";
