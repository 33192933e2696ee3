// SGAPS > Install Native Library...: copies libsgaps and the libtorch libraries beside it
// (the lib/ folder of `make dist`) into Assets/Plugins/SGAPS/<platform>/ and sets their
// importer settings, which a package installed from a git URL cannot carry (the
// libraries are built artefacts, not in git). The same settings scripts/unity-meta.py
// writes for a package staged on disk: Linux x86_64 for Standalone and the Editor.
using System.IO;
using UnityEditor;
using UnityEngine;

namespace Sgaps.Editor
{
    public static class SgapsNativeInstaller
    {
        private const string Root = "Assets/Plugins/SGAPS";

        [MenuItem("SGAPS/Install Native Library...")]
        public static void Install()
        {
            string from = EditorUtility.OpenFolderPanel("The lib/ folder of an SGAPS dist (make dist)", "", "lib");
            if (string.IsNullOrEmpty(from)) return;
            int copied = InstallFrom(from);
            EditorUtility.DisplayDialog("SGAPS", copied == 0 ? "No libsgaps found in " + from
                : copied + " libraries installed under " + Root + ". Restart the Editor if an older libsgaps was loaded.", "OK");
        }

        /// <summary>Copies the libraries of <paramref name="from"/> and configures them; returns how many.</summary>
        public static int InstallFrom(string from)
        {
            Layout layout;
            if (File.Exists(Path.Combine(from, "libsgaps.so"))) layout = Layout.Linux;
            else if (File.Exists(Path.Combine(from, "sgaps.dll"))) layout = Layout.Windows;
            else if (File.Exists(Path.Combine(from, "libsgaps.dylib"))) layout = Layout.MacOS;
            else return 0;
            string to = Path.Combine(Root, layout.Folder);
            Directory.CreateDirectory(to);
            int copied = 0;
            foreach (string file in Directory.GetFiles(from, layout.Pattern))
            {
                File.Copy(file, Path.Combine(to, Path.GetFileName(file)), true);
                copied++;
            }
            AssetDatabase.Refresh();
            foreach (string file in Directory.GetFiles(to, layout.Pattern))
            {
                PluginImporter importer = AssetImporter.GetAtPath(file.Replace('\\', '/')) as PluginImporter;
                if (importer == null) continue;
                importer.SetCompatibleWithAnyPlatform(false);
                importer.SetCompatibleWithEditor(true);
                importer.SetEditorData("OS", layout.EditorOs);
                importer.SetEditorData("CPU", layout.Cpu);
                importer.SetCompatibleWithPlatform(layout.Target, true);
                importer.SetPlatformData(layout.Target, "CPU", layout.Cpu);
                importer.SaveAndReimport();
            }
            Debug.Log("SGAPS: " + copied + " libraries from " + from + " installed in " + to);
            return copied;
        }

        private struct Layout
        {
            public string Folder, Pattern, EditorOs, Cpu;
            public BuildTarget Target;

            public static readonly Layout Linux = new Layout
            {
                Folder = "Linux/x86_64", Pattern = "*.so*", EditorOs = "Linux", Cpu = "x86_64",
                Target = BuildTarget.StandaloneLinux64,
            };
            public static readonly Layout Windows = new Layout
            {
                Folder = "Windows/x86_64", Pattern = "*.dll", EditorOs = "Windows", Cpu = "x86_64",
                Target = BuildTarget.StandaloneWindows64,
            };
            public static readonly Layout MacOS = new Layout
            {
                Folder = "macOS", Pattern = "*.dylib", EditorOs = "OSX", Cpu = "AnyCPU",
                Target = BuildTarget.StandaloneOSX,
            };
        }
    }
}
