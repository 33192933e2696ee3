// Records the game with SGAPS in-process: captures a scene capture's render target (or
// the back buffer), reads it back without stalling (FRHIGPUTextureReadback), samples it
// where SGAPS says, and submits the pixels and state vector on a worker thread through
// libsgaps. The logic lives in SgapsDriver.hpp (plain C++); this class is the Unreal glue.
#pragma once

#include "CoreMinimal.h"
#include "Components/ActorComponent.h"
#include "Components/SceneCaptureComponent2D.h"
#include "Engine/Texture2D.h"

#include <memory>

#include "SgapsDriver.hpp"

#include "SgapsRecorderComponent.generated.h"

class FRHIGPUTextureReadback;

UCLASS(ClassGroup = (SGAPS), meta = (BlueprintSpawnableComponent))
class SGAPS_API USgapsRecorderComponent : public UActorComponent
{
    GENERATED_BODY()

public:
    USgapsRecorderComponent();

    /** The checkpoint (game) key; unknown keys fall back to "default". */
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "SGAPS")
    FString CheckpointKey = TEXT("default");

    /** A conf/ directory; empty for the configuration built into libsgaps. */
    UPROPERTY(EditAnywhere, Category = "SGAPS")
    FString ConfigDirectory;

    /** Configuration overrides such as "model=spt_small" or "device=cpu". */
    UPROPERTY(EditAnywhere, Category = "SGAPS")
    TArray<FString> Overrides;

    /** What to record; none records the back buffer (the whole window). */
    UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "SGAPS|Capture")
    TObjectPtr<USceneCaptureComponent2D> SceneCapture;

    /** Frames per second to capture; 0 uses the session's target_fps. */
    UPROPERTY(EditAnywhere, Category = "SGAPS|Capture")
    float CaptureFps = 0.f;

    /** Frames that may wait for the worker; beyond that the oldest is dropped. */
    UPROPERTY(EditAnywhere, Category = "SGAPS|Capture")
    int32 QueueCapacity = 2;

    /** Keep Reconstruction updated with the newest reconstructed frame. */
    UPROPERTY(EditAnywhere, Category = "SGAPS|Output")
    bool bLiveReconstruction = false;

    /** The newest reconstruction (G8), when bLiveReconstruction is set. */
    UPROPERTY(BlueprintReadOnly, Category = "SGAPS|Output")
    TObjectPtr<UTexture2D> Reconstruction;

    /** Sets the state vector sent with the next frames (at most max_state_dim values). */
    UFUNCTION(BlueprintCallable, Category = "SGAPS")
    bool SetState(const TArray<float>& Values);

    /** Sets one value of the state vector. */
    UFUNCTION(BlueprintCallable, Category = "SGAPS")
    bool SetStateValue(int32 Index, float Value);

    UFUNCTION(BlueprintPure, Category = "SGAPS")
    int64 GetFramesSubmitted() const;

    UFUNCTION(BlueprintPure, Category = "SGAPS")
    int64 GetFramesDropped() const;

    /** The driver, for C++ callers (null before BeginPlay or after a failed start). */
    sgaps::driver::Driver* GetDriver() const { return Driver.get(); }

protected:
    virtual void BeginPlay() override;
    virtual void EndPlay(const EEndPlayReason::Type Reason) override;
    virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction) override;

private:
    struct FPendingReadback
    {
        sgaps::driver::FrameSlot* Slot = nullptr;
        std::unique_ptr<FRHIGPUTextureReadback> Readback;
        int32 Width = 0;
        int32 Height = 0;
        EPixelFormat Format = PF_Unknown;
    };

    void Capture(double Time);
    void PollReadbacks();
    void UpdateReconstruction();
    void OnBackBufferReady(SWindow& Window, const FTextureRHIRef& BackBuffer);

    sgaps::nx::Engine Engine;
    std::unique_ptr<sgaps::driver::Driver> Driver;
    TArray<FPendingReadback> Pending; // oldest first
    TArray<uint8> ReconstructionBytes;
    FDelegateHandle BackBufferHandle;
    bool bBackBufferRequested = false;
    double NextCaptureTime = 0.0;
};
