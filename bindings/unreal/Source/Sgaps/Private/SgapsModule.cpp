// The module: loads libsgaps from the plugin's ThirdParty folder before anything calls
// it (Windows and macOS look there only when told; Linux finds it through the rpath UBT
// writes for PublicAdditionalLibraries, and the explicit load does no harm).
#include "CoreMinimal.h"
#include "HAL/PlatformProcess.h"
#include "Interfaces/IPluginManager.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"

#include "sgaps.h"

class FSgapsModule : public IModuleInterface
{
public:
    virtual void StartupModule() override
    {
        const FString Base = IPluginManager::Get().FindPlugin(TEXT("Sgaps"))->GetBaseDir();
#if PLATFORM_WINDOWS
        const FString Library = FPaths::Combine(Base, TEXT("Source/ThirdParty/sgaps/lib/Win64/sgaps.dll"));
#elif PLATFORM_MAC
        const FString Library = FPaths::Combine(Base, TEXT("Source/ThirdParty/sgaps/lib/Mac/libsgaps.dylib"));
#else
        const FString Library = FPaths::Combine(Base, TEXT("Source/ThirdParty/sgaps/lib/Linux/x86_64/libsgaps.so"));
#endif
        Handle = FPlatformProcess::GetDllHandle(*Library);
        if (!Handle)
        {
            UE_LOG(LogTemp, Warning, TEXT("SGAPS: could not load %s; relying on the system loader"), *Library);
        }
        if (sgaps_abi_version() != SGAPS_ABI_VERSION)
        {
            UE_LOG(LogTemp, Error, TEXT("SGAPS: libsgaps has ABI %u, the plugin was built for %d"), sgaps_abi_version(),
                SGAPS_ABI_VERSION);
        }
    }

    virtual void ShutdownModule() override
    {
        // Never unloaded while the process lives: libtorch does not support it.
        Handle = nullptr;
    }

private:
    void* Handle = nullptr;
};

IMPLEMENT_MODULE(FSgapsModule, Sgaps)
