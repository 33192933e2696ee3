// The Sgaps runtime module: libsgaps's header and library from Source/ThirdParty/sgaps
// (put there by scripts/unreal-stage.sh from `make dist` or a cargo build), linked, and
// every library beside it (libtorch) staged next to the binaries at run time.
using System.IO;
using UnrealBuildTool;

public class Sgaps : ModuleRules
{
    public Sgaps(ReadOnlyTargetRules Target) : base(Target)
    {
        PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
        // SgapsNoExcept.hpp reports failures as status results: no exceptions needed.
        bEnableExceptions = false;

        PublicDependencyModuleNames.AddRange(new string[] { "Core", "CoreUObject", "Engine" });
        PrivateDependencyModuleNames.AddRange(new string[] { "RenderCore", "RHI", "Slate", "SlateCore", "Projects" });

        string ThirdParty = Path.GetFullPath(Path.Combine(ModuleDirectory, "..", "ThirdParty", "sgaps"));
        PublicIncludePaths.Add(Path.Combine(ThirdParty, "include"));

        if (Target.Platform == UnrealTargetPlatform.Linux)
        {
            string LibDir = Path.Combine(ThirdParty, "lib", "Linux", "x86_64");
            PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libsgaps.so"));
            StageAll(LibDir, "*.so*");
        }
        else if (Target.Platform == UnrealTargetPlatform.Win64)
        {
            // Layout for a Windows build of libsgaps, when there is one: the import
            // library to link, the DLL loaded at start-up (SgapsModule.cpp).
            string LibDir = Path.Combine(ThirdParty, "lib", "Win64");
            PublicAdditionalLibraries.Add(Path.Combine(LibDir, "sgaps.dll.lib"));
            PublicDelayLoadDLLs.Add("sgaps.dll");
            StageAll(LibDir, "*.dll");
        }
        else if (Target.Platform == UnrealTargetPlatform.Mac)
        {
            // Layout for a macOS build, when there is one.
            string LibDir = Path.Combine(ThirdParty, "lib", "Mac");
            PublicAdditionalLibraries.Add(Path.Combine(LibDir, "libsgaps.dylib"));
            StageAll(LibDir, "*.dylib");
        }
    }

    // Copies every library of the folder next to the module's binaries: libsgaps finds
    // libtorch beside itself ($ORIGIN rpath on Linux).
    private void StageAll(string LibDir, string Pattern)
    {
        if (!Directory.Exists(LibDir))
        {
            return;
        }
        foreach (string Library in Directory.GetFiles(LibDir, Pattern))
        {
            RuntimeDependencies.Add(Path.Combine("$(BinaryOutputDir)", Path.GetFileName(Library)), Library);
        }
    }
}
