/** Label Studio's version document (`/api/version`), with Taskport's own version numbers. */
import type { VersionInfo } from "@taskport/schema";

export function versionInfo(version: string): VersionInfo {
  const component = { version };
  return {
    release: version,
    "label-studio-os-package": {
      version,
      short_version: version.split(".").slice(0, 2).join("."),
      latest_version_from_pypi: null,
      latest_version_upload_time: null,
      current_version_is_outdated: false,
    },
    "label-studio-os-backend": { ...component, message: "", commit: "", date: "", branch: "" },
    "label-studio-frontend": component,
    dm2: component,
    "label-studio-converter": component,
    lsf: component,
    backend: component,
    edition: "Community",
    taskport: component,
  };
}
