// A stub of the UnityEditor API the package's Editor assembly uses (Unity 2021.3 names
// and signatures), so it compiles under Mono. Nothing here runs.
using System;

namespace UnityEditor
{
    public enum BuildTarget { StandaloneOSX = 2, StandaloneWindows64 = 19, StandaloneLinux64 = 24 }
    public enum MessageType { None, Info, Warning, Error }

    [AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
    public sealed class MenuItem : Attribute { public MenuItem(string itemName) { } }

    [AttributeUsage(AttributeTargets.Class)]
    public sealed class CustomEditor : Attribute { public CustomEditor(Type inspectedType) { } }

    public class AssetImporter : UnityEngine.Object
    {
        public static AssetImporter GetAtPath(string path) { return null; }
        public void SaveAndReimport() { }
    }

    public sealed class PluginImporter : AssetImporter
    {
        public void SetCompatibleWithAnyPlatform(bool enable) { }
        public void SetCompatibleWithEditor(bool enable) { }
        public void SetCompatibleWithPlatform(BuildTarget platform, bool enable) { }
        public void SetEditorData(string key, string value) { }
        public void SetPlatformData(BuildTarget platform, string key, string value) { }
    }

    public static class AssetDatabase { public static void Refresh() { } }

    public static class EditorUtility
    {
        public static string OpenFolderPanel(string title, string folder, string defaultName) { return ""; }
        public static bool DisplayDialog(string title, string message, string ok) { return true; }
    }

    public static class EditorGUILayout
    {
        public static void Space() { }
        public static void LabelField(string label, string label2, params UnityEngine.GUILayoutOption[] options) { }
        public static void HelpBox(string message, MessageType type) { }
    }

    public class Editor : UnityEngine.ScriptableObject
    {
        public UnityEngine.Object target { get; set; }
        public virtual void OnInspectorGUI() { }
        public bool DrawDefaultInspector() { return true; }
        public void Repaint() { }
    }
}
