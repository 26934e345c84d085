export * from "./json-text";
export * from "./label-config";
export * from "./pagination";
export * from "./project";
export * from "./task";
