#!/usr/bin/env python3
"""Writes or checks the `.meta` files of the Unity package (bindings/unity).

Unity needs a `.meta` beside every file and folder of a package installed from a git
URL (the package is read-only there, so Unity cannot make them), and its GUID must
never change: scenes and prefabs refer to scripts by it. Each GUID here is the MD5 of
"<package name>/<path in the package>", so it is stable and the same on every machine.

    scripts/unity-meta.py [PACKAGE_DIR]          write missing or outdated .meta files
    scripts/unity-meta.py --check [PACKAGE_DIR]  fail if any is missing, differs,
                                                 is orphaned or shares a GUID; also
                                                 validates package.json, the asmdefs
                                                 and the script GUIDs scenes refer to

Folders ending in `~` are hidden from Unity and get no metas, except that the contents
of `Samples~` do (Unity copies a sample with its metas into the project). Native
libraries (.so, .dll, .dylib, staged by scripts/unity-stage.sh) get plugin importer
settings for the platform of their folder: Plugins/Linux/x86_64, Plugins/Windows/x86_64,
Plugins/macOS.
"""
import hashlib
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

COMMON_TAIL = "  userData: \n  assetBundleName: \n  assetBundleVariant: \n"

SIMPLE = {
    "DefaultImporter": "DefaultImporter:\n  externalObjects: {}\n" + COMMON_TAIL,
    "MonoImporter": ("MonoImporter:\n  externalObjects: {}\n  serializedVersion: 2\n  defaultReferences: []\n"
                     "  executionOrder: 0\n  icon: {instanceID: 0}\n" + COMMON_TAIL),
    "AssemblyDefinitionImporter": "AssemblyDefinitionImporter:\n  externalObjects: {}\n" + COMMON_TAIL,
    "TextScriptImporter": "TextScriptImporter:\n  externalObjects: {}\n" + COMMON_TAIL,
}

IMPORTER_BY_SUFFIX = {
    ".cs": "MonoImporter",
    ".asmdef": "AssemblyDefinitionImporter",
    ".md": "TextScriptImporter",
    ".json": "TextScriptImporter",
    ".txt": "TextScriptImporter",
}

# Plugin importer settings per folder: (Editor OS, CPU, standalone target enabled).
PLUGIN_PLATFORMS = {
    "Plugins/Linux/x86_64": ("Linux", "x86_64", "Linux64"),
    "Plugins/Windows/x86_64": ("Windows", "x86_64", "Win64"),
    "Plugins/macOS": ("OSX", "AnyCPU", "OSXUniversal"),
}
STANDALONES = ["Linux64", "OSXUniversal", "Win", "Win64"]
EXCLUDE = {"Linux64": "Exclude Linux64", "OSXUniversal": "Exclude OSXUniversal", "Win": "Exclude Win",
           "Win64": "Exclude Win64"}


def is_plugin(path):
    name = path.name
    return name.endswith((".so", ".dll", ".dylib")) or re.search(r"\.so\.\d", name) is not None


def plugin_meta(relative):
    folder = relative.rsplit("/", 1)[0]
    if folder not in PLUGIN_PLATFORMS:
        raise SystemExit(f"unity-meta: native library {relative} is outside {', '.join(PLUGIN_PLATFORMS)}")
    editor_os, cpu, target = PLUGIN_PLATFORMS[folder]
    lines = ["PluginImporter:", "  externalObjects: {}", "  serializedVersion: 2", "  iconMap: {}",
             "  executionOrder: {}", "  defineConstraints: []", "  isPreloaded: 0", "  isOverridable: 1",
             "  isExplicitlyReferenced: 0", "  validateReferences: 1", "  platformData:",
             "  - first:", "      : Any", "    second:", "      enabled: 0", "      settings:",
             "        Exclude Editor: 0"]
    for standalone in sorted(STANDALONES, key=lambda s: EXCLUDE[s]):
        lines.append(f"        {EXCLUDE[standalone]}: {0 if standalone == target else 1}")
    lines += ["  - first:", "      Any: ", "    second:", "      enabled: 0", "      settings: {}",
              "  - first:", "      Editor: Editor", "    second:", "      enabled: 1", "      settings:",
              f"        CPU: {cpu}", "        DefaultValueInitialized: true", f"        OS: {editor_os}"]
    for standalone in STANDALONES:
        enabled = standalone == target
        lines += ["  - first:", f"      Standalone: {standalone}", "    second:", f"      enabled: {int(enabled)}",
                  "      settings:", f"        CPU: {cpu if enabled else 'None'}"]
    return "\n".join(lines) + "\n" + COMMON_TAIL


def guid(package_name, relative):
    return hashlib.md5(f"{package_name}/{relative}".encode()).hexdigest()


def assets(package):
    """Every file and folder Unity imports, as paths relative to the package."""
    found = []

    def walk(folder):
        for entry in sorted(folder.iterdir()):
            name = entry.name
            if name.startswith(".") or name.endswith(".meta"):
                continue
            relative = entry.relative_to(package).as_posix()
            if name.endswith("~"):
                if name == "Samples~" and folder == package:
                    walk(entry)  # its contents travel with their metas
                continue
            found.append(relative)
            if entry.is_dir():
                walk(entry)

    walk(package)
    return found


def meta_text(package, package_name, relative):
    path = package / relative
    head = f"fileFormatVersion: 2\nguid: {guid(package_name, relative)}\n"
    if path.is_dir():
        return head + "folderAsset: yes\n" + SIMPLE["DefaultImporter"]
    if is_plugin(path):
        return head + plugin_meta(relative)
    return head + SIMPLE[IMPORTER_BY_SUFFIX.get(path.suffix, "DefaultImporter")]


def check_manifest(package, errors):
    manifest = json.loads((package / "package.json").read_text())
    for key in ("name", "version", "displayName", "description", "unity"):
        if not manifest.get(key):
            errors.append(f"package.json: `{key}` is missing")
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+){2,}", manifest.get("name", "")):
        errors.append("package.json: `name` must be reverse-domain lowercase, e.g. com.sgaps.unity")
    if not re.fullmatch(r"\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?", manifest.get("version", "")):
        errors.append("package.json: `version` must be semver")
    if not re.fullmatch(r"\d{4}\.\d+", manifest.get("unity", "")):
        errors.append("package.json: `unity` must look like 2021.3")
    for sample in manifest.get("samples", []):
        path = package / sample.get("path", "")
        if not sample.get("displayName") or not sample.get("path", "").startswith("Samples~/") or not path.is_dir():
            errors.append(f"package.json: sample {sample} must name an existing folder under Samples~/")
    if not manifest.get("samples"):
        errors.append("package.json: no samples")
    return manifest


def check_asmdefs(package, errors):
    asmdefs = {}
    for path in sorted(package.rglob("*.asmdef")):
        if any(part.endswith("~") for part in path.relative_to(package).parts):
            continue
        data = json.loads(path.read_text())
        name = data.get("name")
        if name in asmdefs:
            errors.append(f"{path}: assembly name {name} used twice")
        asmdefs[name] = (path, data)
    for name, (path, data) in asmdefs.items():
        for reference in data.get("references", []):
            if reference not in asmdefs:
                errors.append(f"{path.name}: references {reference}, which no asmdef defines")
        editor = data.get("includePlatforms") == ["Editor"]
        if path.parent.name == "Editor" and not editor:
            errors.append(f"{path.name}: an Editor assembly must have includePlatforms [\"Editor\"]")
        if path.parent.name != "Editor" and editor:
            errors.append(f"{path.name}: a runtime assembly must not be Editor-only")
    # The engine-independent assemblies must not see UnityEngine (they run headless).
    for name in ("Sgaps.Native", "Sgaps.Driver"):
        if name not in asmdefs or not asmdefs[name][1].get("noEngineReferences"):
            errors.append(f"{name}.asmdef must exist with noEngineReferences: true")
    # Every script belongs to an assembly definition (samples excepted: they join the game's).
    for script in package.rglob("*.cs"):
        parts = script.relative_to(package).parts
        if parts[0].endswith("~"):
            continue
        if not any(list(p.glob("*.asmdef")) for p in script.parents if package in p.parents or p == package):
            errors.append(f"{script}: no .asmdef above it")
    return asmdefs


def check_scene_references(package, package_name, errors):
    """Scripts a scene refers to (m_Script guid) must be scripts of this package."""
    scripts = {guid(package_name, s) for s in assets(package) if s.endswith(".cs")}
    for scene in package.rglob("*.unity"):
        for referenced in re.findall(r"m_Script: \{fileID: 11500000, guid: ([0-9a-f]{32})", scene.read_text()):
            if referenced not in scripts:
                errors.append(f"{scene.name}: refers to script GUID {referenced}, which is no script of the package")


def main():
    args = [a for a in sys.argv[1:] if a != "--check"]
    check = "--check" in sys.argv[1:]
    package = Path(args[0]).resolve() if args else ROOT / "bindings" / "unity"
    package_name = json.loads((package / "package.json").read_text())["name"]
    errors, written, guids = [], 0, {}
    expected = set()
    for relative in assets(package):
        meta = package / (relative + ".meta")
        expected.add(meta)
        text = meta_text(package, package_name, relative)
        g = guid(package_name, relative)
        if g in guids:
            errors.append(f"{relative} and {guids[g]} share GUID {g}")
        guids[g] = relative
        if meta.exists() and meta.read_text() == text:
            continue
        if check:
            errors.append(f"{relative}.meta is " + ("different from what unity-meta.py writes" if meta.exists() else "missing"))
        else:
            meta.write_text(text)
            written += 1
    for meta in package.rglob("*.meta"):
        hidden = any(p.endswith("~") and p != "Samples~" for p in meta.relative_to(package).parts)
        if meta not in expected and not hidden:
            if check:
                errors.append(f"{meta.relative_to(package)} has no file or folder")
            else:
                meta.unlink()
                written += 1
    if check:
        check_manifest(package, errors)
        check_asmdefs(package, errors)
        check_scene_references(package, package_name, errors)
        for error in errors:
            print(f"unity-meta: {error}", file=sys.stderr)
        if errors:
            print(f"unity-meta: {len(errors)} problems; run scripts/unity-meta.py to rewrite the metas", file=sys.stderr)
            return 1
        print(f"unity-meta: {len(expected)} assets, each with a .meta and a unique stable GUID; "
              f"package.json, asmdefs and scene references valid")
        return 0
    print(f"unity-meta: {written} .meta files written or removed in {package}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
