// A stub of the UnrealBuildTool types Sgaps.Build.cs uses (UE 5 names and signatures),
// so the rules compile under Mono's mcs and can be run to see what they list.
using System;
using System.Collections.Generic;

namespace UnrealBuildTool
{
    public struct UnrealTargetPlatform
    {
        private readonly string name;
        private UnrealTargetPlatform(string name) { this.name = name; }
        public static readonly UnrealTargetPlatform Win64 = new UnrealTargetPlatform("Win64");
        public static readonly UnrealTargetPlatform Mac = new UnrealTargetPlatform("Mac");
        public static readonly UnrealTargetPlatform Linux = new UnrealTargetPlatform("Linux");
        public static bool operator ==(UnrealTargetPlatform a, UnrealTargetPlatform b) { return a.name == b.name; }
        public static bool operator !=(UnrealTargetPlatform a, UnrealTargetPlatform b) { return a.name != b.name; }
        public override bool Equals(object other) { return other is UnrealTargetPlatform && this == (UnrealTargetPlatform)other; }
        public override int GetHashCode() { return name.GetHashCode(); }
        public override string ToString() { return name; }
    }

    public class ReadOnlyTargetRules
    {
        public UnrealTargetPlatform Platform { get; private set; }
        public ReadOnlyTargetRules(UnrealTargetPlatform platform) { Platform = platform; }
    }

    public class RuntimeDependency
    {
        public string Path;
        public string SourcePath;
    }

    public class RuntimeDependencyList : List<RuntimeDependency>
    {
        public void Add(string InPath) { Add(new RuntimeDependency { Path = InPath }); }
        public void Add(string InPath, string InSourcePath) { Add(new RuntimeDependency { Path = InPath, SourcePath = InSourcePath }); }
    }

    public class ModuleRules
    {
        public enum PCHUsageMode { Default, NoPCHs, NoSharedPCHs, UseSharedPCHs, UseExplicitOrSharedPCHs }

        /// <summary>Stub: UBT sets this from the .Build.cs location; the test sets it first.</summary>
        public static string NextModuleDirectory;

        public ModuleRules(ReadOnlyTargetRules Target) { ModuleDirectory = NextModuleDirectory; }

        public string ModuleDirectory { get; private set; }
        public PCHUsageMode PCHUsage;
        public bool bEnableExceptions;
        public List<string> PublicDependencyModuleNames = new List<string>();
        public List<string> PrivateDependencyModuleNames = new List<string>();
        public List<string> PublicIncludePaths = new List<string>();
        public List<string> PrivateIncludePaths = new List<string>();
        public List<string> PublicAdditionalLibraries = new List<string>();
        public List<string> PublicDelayLoadDLLs = new List<string>();
        public List<string> PublicDefinitions = new List<string>();
        public RuntimeDependencyList RuntimeDependencies = new RuntimeDependencyList();
    }
}
