#include "SgapsRecorderComponent.h"

#include "Async/Async.h"
#include "Engine/Engine.h"
#include "Engine/GameViewportClient.h"
#include "Engine/TextureRenderTarget2D.h"
#include "Engine/World.h"
#include "Framework/Application/SlateApplication.h"
#include "RHIGPUReadback.h"
#include "RenderingThread.h"
#include "Rendering/SlateRenderer.h"

DEFINE_LOG_CATEGORY_STATIC(LogSgaps, Log, All);

namespace
{
constexpr int32 MaxInFlight = 4;

// Byte offsets of red, green and blue in the 8-bit formats a readback can hold; false
// for others (HDR back buffers: use a scene capture with an RGBA8 target instead).
bool ChannelOrder(EPixelFormat Format, int& Red, int& Green, int& Blue)
{
    switch (Format)
    {
    case PF_B8G8R8A8: Red = 2; Green = 1; Blue = 0; return true;
    case PF_R8G8B8A8: Red = 0; Green = 1; Blue = 2; return true;
    default: return false;
    }
}
} // namespace

USgapsRecorderComponent::USgapsRecorderComponent()
{
    PrimaryComponentTick.bCanEverTick = true;
    PrimaryComponentTick.TickGroup = TG_PostUpdateWork;
}

void USgapsRecorderComponent::BeginPlay()
{
    Super::BeginPlay();
    std::vector<std::string> Options;
    for (const FString& Override : Overrides)
    {
        Options.emplace_back(TCHAR_TO_UTF8(*Override));
    }
    const std::string ConfDir = TCHAR_TO_UTF8(*ConfigDirectory);
    sgaps::nx::Status Status = sgaps::nx::Engine::Open(ConfDir.empty() ? nullptr : ConfDir.c_str(), Options, Engine);
    if (!Status)
    {
        UE_LOG(LogSgaps, Error, TEXT("SGAPS: cannot open the engine: %s"), UTF8_TO_TCHAR(Status.message.c_str()));
        return;
    }

    // The client resolution SGAPS sees: the render target's, or the viewport's.
    FIntPoint Size(0, 0);
    if (SceneCapture && SceneCapture->TextureTarget)
    {
        Size = FIntPoint(SceneCapture->TextureTarget->SizeX, SceneCapture->TextureTarget->SizeY);
    }
    else if (GEngine && GEngine->GameViewport)
    {
        FVector2D ViewportSize;
        GEngine->GameViewport->GetViewportSize(ViewportSize);
        Size = FIntPoint(int32(ViewportSize.X), int32(ViewportSize.Y));
    }
    if (Size.X <= 0 || Size.Y <= 0)
    {
        UE_LOG(LogSgaps, Error, TEXT("SGAPS: nothing to capture (no scene capture target, no viewport)"));
        return;
    }

    sgaps::driver::DriverOptions DriverOptions;
    DriverOptions.client_width = Size.X;
    DriverOptions.client_height = Size.Y;
    DriverOptions.queue_capacity = size_t(FMath::Max(1, QueueCapacity));
    DriverOptions.max_in_flight = MaxInFlight;
    DriverOptions.reconstruct = bLiveReconstruction;
    Status = sgaps::driver::Driver::Create(
        std::make_unique<sgaps::driver::EmbeddedBackend>(Engine, TCHAR_TO_UTF8(*CheckpointKey)), DriverOptions, Driver);
    if (!Status)
    {
        UE_LOG(LogSgaps, Error, TEXT("SGAPS: cannot begin the session: %s"), UTF8_TO_TCHAR(Status.message.c_str()));
        return;
    }
    const sgaps::driver::SessionInfo& Session = Driver->Session();
    UE_LOG(LogSgaps, Log, TEXT("SGAPS: %d pixels per frame, model %s%s"), int32(Session.sample_count),
        UTF8_TO_TCHAR(Session.model_version.c_str()),
        Session.checkpoint_loaded ? TEXT("") : TEXT(" (no trained checkpoint for this key)"));

    if (bLiveReconstruction)
    {
        Reconstruction = UTexture2D::CreateTransient(Session.width, Session.height, PF_G8);
        ReconstructionBytes.SetNumZeroed(Session.width * Session.height);
    }
    if (!SceneCapture && FSlateApplication::IsInitialized())
    {
        // The back buffer is only reachable on the render thread, as it is presented.
        BackBufferHandle = FSlateApplication::Get().GetRenderer()->OnBackBufferReadyToPresent().AddUObject(
            this, &USgapsRecorderComponent::OnBackBufferReady);
    }
}

void USgapsRecorderComponent::EndPlay(const EEndPlayReason::Type Reason)
{
    if (BackBufferHandle.IsValid() && FSlateApplication::IsInitialized())
    {
        FSlateApplication::Get().GetRenderer()->OnBackBufferReadyToPresent().Remove(BackBufferHandle);
        BackBufferHandle.Reset();
    }
    // Readbacks in flight belong to the render thread until it is done with them.
    FlushRenderingCommands();
    if (Driver)
    {
        for (FPendingReadback& Entry : Pending)
        {
            Driver->CancelCapture(Entry.Slot);
        }
        Driver->Shutdown(); // waits for the frame being submitted
        Driver.reset();
    }
    Pending.Empty();
    Super::EndPlay(Reason);
}

bool USgapsRecorderComponent::SetState(const TArray<float>& Values)
{
    return Driver && Driver->SetState(Values.GetData(), size_t(Values.Num()));
}

bool USgapsRecorderComponent::SetStateValue(int32 Index, float Value)
{
    return Driver && Index >= 0 && Driver->SetStateValue(size_t(Index), Value);
}

int64 USgapsRecorderComponent::GetFramesSubmitted() const
{
    return Driver ? int64(Driver->FramesSubmitted()) : 0;
}

int64 USgapsRecorderComponent::GetFramesDropped() const
{
    return Driver ? int64(Driver->FramesDropped()) : 0;
}

void USgapsRecorderComponent::TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction)
{
    Super::TickComponent(DeltaTime, TickType, ThisTickFunction);
    if (!Driver)
    {
        return;
    }
    PollReadbacks();
    UpdateReconstruction();
    const double Now = GetWorld()->GetTimeSeconds();
    const double Fps = CaptureFps > 0.f ? double(CaptureFps) : double(FMath::Max<uint32>(1, Driver->Session().target_fps));
    if (Now >= NextCaptureTime && Pending.Num() < MaxInFlight && !bBackBufferRequested)
    {
        NextCaptureTime = FMath::Max(NextCaptureTime + 1.0 / Fps, Now);
        Capture(Now);
    }
}

void USgapsRecorderComponent::Capture(double Time)
{
    if (!SceneCapture)
    {
        bBackBufferRequested = true; // OnBackBufferReady takes the next presented frame
        return;
    }
    UTextureRenderTarget2D* Target = SceneCapture->TextureTarget;
    if (!Target)
    {
        return;
    }
    sgaps::driver::FrameSlot* Slot = Driver->BeginCapture(Time);
    if (!Slot)
    {
        return;
    }
    SceneCapture->CaptureScene();
    FPendingReadback& Entry = Pending.AddDefaulted_GetRef();
    Entry.Slot = Slot;
    Entry.Readback = std::make_unique<FRHIGPUTextureReadback>(TEXT("SgapsCapture"));
    Entry.Width = Target->SizeX;
    Entry.Height = Target->SizeY;
    Entry.Format = Target->GetFormat();
    FTextureRenderTargetResource* Resource = Target->GameThread_GetRenderTargetResource();
    FRHIGPUTextureReadback* Readback = Entry.Readback.get();
    ENQUEUE_RENDER_COMMAND(SgapsCapture)([Readback, Resource](FRHICommandListImmediate& RHICmdList)
    {
        Readback->EnqueueCopy(RHICmdList, Resource->GetRenderTargetTexture());
    });
}

void USgapsRecorderComponent::OnBackBufferReady(SWindow& /*Window*/, const FTextureRHIRef& BackBuffer)
{
    // Render thread. The slot is taken on the game thread (PollReadbacks) once the copy
    // is enqueued; here only the GPU copy is started.
    if (!bBackBufferRequested || !BackBuffer.IsValid())
    {
        return;
    }
    FRHICommandListImmediate& RHICmdList = FRHICommandListExecutor::GetImmediateCommandList();
    auto Readback = std::make_unique<FRHIGPUTextureReadback>(TEXT("SgapsBackBuffer"));
    Readback->EnqueueCopy(RHICmdList, BackBuffer);
    const FIntVector Size = BackBuffer->GetSizeXYZ();
    const EPixelFormat Format = BackBuffer->GetFormat();
    FRHIGPUTextureReadback* Raw = Readback.release();
    TWeakObjectPtr<USgapsRecorderComponent> WeakThis(this);
    AsyncTask(ENamedThreads::GameThread, [WeakThis, Raw, Size, Format]()
    {
        std::unique_ptr<FRHIGPUTextureReadback> Owned(Raw);
        USgapsRecorderComponent* Self = WeakThis.Get();
        if (!Self)
        {
            return; // the component is gone: the readback is freed here
        }
        Self->bBackBufferRequested = false;
        if (!Self->Driver)
        {
            return;
        }
        sgaps::driver::FrameSlot* Slot = Self->Driver->BeginCapture(Self->GetWorld()->GetTimeSeconds());
        if (!Slot)
        {
            return;
        }
        FPendingReadback& Entry = Self->Pending.AddDefaulted_GetRef();
        Entry.Slot = Slot;
        Entry.Readback = std::move(Owned);
        Entry.Width = Size.X;
        Entry.Height = Size.Y;
        Entry.Format = Format;
    });
}

void USgapsRecorderComponent::PollReadbacks()
{
    // Readbacks finish in order; hand each finished frame to the driver.
    while (Pending.Num() > 0 && Pending[0].Readback->IsReady())
    {
        FPendingReadback Entry = MoveTemp(Pending[0]);
        Pending.RemoveAt(0);
        int Red = 0, Green = 1, Blue = 2;
        if (!ChannelOrder(Entry.Format, Red, Green, Blue))
        {
            UE_LOG(LogSgaps, Warning, TEXT("SGAPS: cannot sample pixel format %d; use an RGBA8 render target"), int32(Entry.Format));
            Driver->CancelCapture(Entry.Slot);
            continue;
        }
        int32 RowPitchInPixels = 0;
        const uint8* Data = static_cast<const uint8*>(Entry.Readback->Lock(RowPitchInPixels));
        sgaps::driver::FrameView View;
        View.data = Data;
        View.width = Entry.Width;
        View.height = Entry.Height;
        View.channels = 4;
        View.stride = size_t(RowPitchInPixels) * 4;
        View.length = View.stride * size_t(Entry.Height);
        View.rows = sgaps::driver::RowOrder::TopDown; // Unreal textures: row 0 is the top
        View.red = Red;
        View.green = Green;
        View.blue = Blue;
        if (!Data || !Driver->CompleteCapture(Entry.Slot, View))
        {
            if (!Data)
            {
                Driver->CancelCapture(Entry.Slot);
            }
            UE_LOG(LogSgaps, Warning, TEXT("SGAPS: a %dx%d readback could not be sampled"), Entry.Width, Entry.Height);
        }
        Entry.Readback->Unlock();
    }
}

void USgapsRecorderComponent::UpdateReconstruction()
{
    uint64_t FrameId = 0;
    if (!Reconstruction || !Driver->CopyLatestReconstruction(ReconstructionBytes.GetData(), sgaps::driver::RowOrder::TopDown, FrameId))
    {
        return;
    }
    FTexture2DMipMap& Mip = Reconstruction->GetPlatformData()->Mips[0];
    void* Texels = Mip.BulkData.Lock(LOCK_READ_WRITE);
    FMemory::Memcpy(Texels, ReconstructionBytes.GetData(), ReconstructionBytes.Num());
    Mip.BulkData.Unlock();
    Reconstruction->UpdateResource();
}
