// Runs Sgaps.Build.cs (compiled with ModuleRulesStub.cs) for Linux and checks what it
// lists exists after scripts/unreal-stage.sh: the include path holds sgaps.h, every
// library to link and every runtime dependency is a file. For Win64 and Mac, which
// cannot be built here, it checks the rules name the documented layout.
//
//   mono CheckBuildRules.exe PLUGIN_DIR
using System;
using System.IO;
using System.Linq;
using UnrealBuildTool;

public static class CheckBuildRules
{
    private static int failures;

    private static void Check(bool condition, string what)
    {
        Console.WriteLine((condition ? "ok: " : "FAILED: ") + what);
        if (!condition) failures++;
    }

    private static Sgaps Rules(string plugin, UnrealTargetPlatform platform)
    {
        ModuleRules.NextModuleDirectory = Path.Combine(plugin, "Source", "Sgaps");
        return new Sgaps(new ReadOnlyTargetRules(platform));
    }

    public static int Main(string[] args)
    {
        string plugin = Path.GetFullPath(args[0]);
        Sgaps linux = Rules(plugin, UnrealTargetPlatform.Linux);
        Check(!linux.bEnableExceptions, "exceptions off");
        Check(new[] { "Core", "CoreUObject", "Engine" }.All(linux.PublicDependencyModuleNames.Contains) &&
            new[] { "RenderCore", "RHI", "Slate", "SlateCore", "Projects" }.All(linux.PrivateDependencyModuleNames.Contains),
            "engine modules the component uses: " + string.Join(", ", linux.PublicDependencyModuleNames.Concat(linux.PrivateDependencyModuleNames)));
        Check(linux.PublicIncludePaths.Any(p => File.Exists(Path.Combine(p, "sgaps.h"))),
            "an include path holds sgaps.h: " + string.Join(", ", linux.PublicIncludePaths));
        Check(linux.PublicAdditionalLibraries.Count > 0 && linux.PublicAdditionalLibraries.Any(l => Path.GetFileName(l) == "libsgaps.so"),
            "links libsgaps.so");
        foreach (string library in linux.PublicAdditionalLibraries)
        {
            Check(File.Exists(library), "library exists: " + library);
        }
        Check(linux.RuntimeDependencies.Any(d => Path.GetFileName(d.SourcePath) == "libsgaps.so"), "libsgaps.so is staged at run time");
        foreach (RuntimeDependency dependency in linux.RuntimeDependencies)
        {
            Check(dependency.SourcePath != null && File.Exists(dependency.SourcePath) &&
                dependency.Path.StartsWith("$(BinaryOutputDir)"), "runtime dependency exists: " + dependency.SourcePath);
        }

        Sgaps windows = Rules(plugin, UnrealTargetPlatform.Win64);
        Check(windows.PublicAdditionalLibraries.Any(l => l.EndsWith(Path.Combine("lib", "Win64", "sgaps.dll.lib"))) &&
            windows.PublicDelayLoadDLLs.Contains("sgaps.dll"), "Win64 layout: lib/Win64/sgaps.dll.lib, sgaps.dll delay-loaded");
        Sgaps mac = Rules(plugin, UnrealTargetPlatform.Mac);
        Check(mac.PublicAdditionalLibraries.Any(l => l.EndsWith(Path.Combine("lib", "Mac", "libsgaps.dylib"))),
            "Mac layout: lib/Mac/libsgaps.dylib");
        Console.WriteLine("Build.cs: " + (failures == 0 ? "all checks passed" : failures + " failed"));
        return failures == 0 ? 0 : 1;
    }
}
