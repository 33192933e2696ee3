// A stub of the Unreal Engine 5 API the Sgaps module uses, with UE's names and
// signatures, so the module compiles (g++ -fno-exceptions -fno-rtti) without the engine.
// Declarations only where nothing runs; it is never linked into anything that runs.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

// --- UHT and build macros -------------------------------------------------------------
#define UCLASS(...)
#define UPROPERTY(...)
#define UFUNCTION(...)
#define GENERATED_BODY()
#define SGAPS_API
#define TEXT(x) u##x
#define PLATFORM_WINDOWS 0
#define PLATFORM_MAC 0
#define PLATFORM_LINUX 1

typedef char16_t TCHAR;
typedef uint8_t uint8;
typedef int32_t int32;
typedef uint32_t uint32;
typedef int64_t int64;
typedef uint64_t uint64;

// --- Core containers and strings ------------------------------------------------------
template <typename T>
class TArray {
public:
    int32 Num() const { return int32(items.size()); }
    T* GetData() { return items.data(); }
    const T* GetData() const { return items.data(); }
    T& operator[](int32 i) { return items[size_t(i)]; }
    const T& operator[](int32 i) const { return items[size_t(i)]; }
    T& AddDefaulted_GetRef() { items.emplace_back(); return items.back(); }
    void RemoveAt(int32 i) { items.erase(items.begin() + i); }
    void SetNumZeroed(int32 n) { items.assign(size_t(n), T()); }
    void Empty() { items.clear(); }
    T* begin() { return items.data(); }
    T* end() { return items.data() + items.size(); }
    const T* begin() const { return items.data(); }
    const T* end() const { return items.data() + items.size(); }
private:
    std::vector<T> items;
};

class FString {
public:
    FString() = default;
    FString(const TCHAR* text) : text(text) {}
    const TCHAR* operator*() const { return text.c_str(); }
private:
    std::u16string text;
};

struct FTCHARToUTF8 {
    explicit FTCHARToUTF8(const TCHAR* text);
    const char* Get() const;
};
struct FUTF8ToTCHAR {
    explicit FUTF8ToTCHAR(const char* text);
    const TCHAR* Get() const;
};
#define TCHAR_TO_UTF8(x) FTCHARToUTF8(x).Get()
#define UTF8_TO_TCHAR(x) FUTF8ToTCHAR(x).Get()

template <typename T>
T&& MoveTemp(T& value) { return static_cast<T&&>(value); }

struct FMath {
    template <typename T> static T Max(T a, T b) { return a < b ? b : a; }
};
struct FMemory {
    static void* Memcpy(void* to, const void* from, size_t bytes) { return std::memcpy(to, from, bytes); }
};

struct FIntPoint {
    int32 X = 0, Y = 0;
    FIntPoint() = default;
    FIntPoint(int32 x, int32 y) : X(x), Y(y) {}
};
struct FIntVector { int32 X = 0, Y = 0, Z = 0; };
struct FVector2D { double X = 0, Y = 0; };

// --- Logging ---------------------------------------------------------------------------
struct FLogCategoryStub {};
extern FLogCategoryStub LogTemp;
#define DEFINE_LOG_CATEGORY_STATIC(Name, Verbosity, Compile) static FLogCategoryStub Name;
template <typename... A> void UELogStub(const FLogCategoryStub&, const TCHAR*, A...) {}
#define UE_LOG(Category, Verbosity, ...) UELogStub(Category, __VA_ARGS__)

// --- Delegates -------------------------------------------------------------------------
struct FDelegateHandle {
    bool IsValid() const;
    void Reset();
};

// --- Pixel formats, RHI, rendering thread ------------------------------------------------
enum EPixelFormat : uint8 { PF_Unknown = 0, PF_B8G8R8A8 = 2, PF_G8 = 3, PF_R8G8B8A8 = 32 };
enum EResourceLockMode { RLM_ReadOnly, RLM_WriteOnly };
enum EBulkDataLockFlags { LOCK_READ_ONLY = 1, LOCK_READ_WRITE = 2 };

class FRHITexture {
public:
    FIntVector GetSizeXYZ() const;
    EPixelFormat GetFormat() const;
};
class FTextureRHIRef {
public:
    bool IsValid() const;
    FRHITexture* operator->() const;
    operator FRHITexture*() const;
};
class FRHICommandList {};
class FRHICommandListImmediate : public FRHICommandList {};
struct FRHICommandListExecutor {
    static FRHICommandListImmediate& GetImmediateCommandList();
};

class FRHIGPUTextureReadback {
public:
    explicit FRHIGPUTextureReadback(const TCHAR* name);
    ~FRHIGPUTextureReadback();
    void EnqueueCopy(FRHICommandList& cmd, FRHITexture* source);
    bool IsReady() const;
    void* Lock(int32& OutRowPitchInPixels, int32* OutBufferHeight = nullptr);
    void Unlock();
};

void FlushRenderingCommands();
#define ENQUEUE_RENDER_COMMAND(Type) EnqueueRenderCommandStub
template <typename L> void EnqueueRenderCommandStub(L&& lambda) { (void)lambda; }

namespace ENamedThreads { enum Type { GameThread }; }
void AsyncTask(ENamedThreads::Type thread, std::function<void()> function);

// --- UObject ----------------------------------------------------------------------------
class UObject {
public:
    virtual ~UObject();
    class UWorld* GetWorld() const;
};

template <typename T>
class TObjectPtr {
public:
    TObjectPtr() = default;
    TObjectPtr(T* p) : ptr(p) {}
    T* operator->() const { return ptr; }
    explicit operator bool() const { return ptr != nullptr; }
    operator T*() const { return ptr; }
private:
    T* ptr = nullptr;
};

template <typename T>
class TWeakObjectPtr {
public:
    TWeakObjectPtr(T* p) : ptr(p) {}
    T* Get() const { return ptr; }
private:
    T* ptr;
};

class UWorld : public UObject {
public:
    double GetTimeSeconds() const;
};

// --- Components -------------------------------------------------------------------------
enum ETickingGroup { TG_PrePhysics, TG_PostUpdateWork };
enum ELevelTick { LEVELTICK_All };
struct FActorComponentTickFunction {
    bool bCanEverTick = false;
    ETickingGroup TickGroup = TG_PrePhysics;
};
namespace EEndPlayReason { enum Type { Destroyed, EndPlayInEditor, Quit }; }

class UActorComponent : public UObject {
public:
    typedef UActorComponent Super; // GENERATED_BODY's typedef, for derived classes
    FActorComponentTickFunction PrimaryComponentTick;
    virtual void BeginPlay();
    virtual void EndPlay(const EEndPlayReason::Type Reason);
    virtual void TickComponent(float DeltaTime, ELevelTick TickType, FActorComponentTickFunction* ThisTickFunction);
};

class FTextureRenderTargetResource {
public:
    const FTextureRHIRef& GetRenderTargetTexture() const;
};

class UTextureRenderTarget2D : public UObject {
public:
    int32 SizeX = 0, SizeY = 0;
    EPixelFormat GetFormat() const;
    FTextureRenderTargetResource* GameThread_GetRenderTargetResource();
};

class USceneCaptureComponent2D : public UActorComponent {
public:
    TObjectPtr<UTextureRenderTarget2D> TextureTarget;
    void CaptureScene();
};

struct FByteBulkData {
    void* Lock(uint32 flags);
    void Unlock();
};
struct FTexture2DMipMap { FByteBulkData BulkData; };
struct FTexturePlatformData { TArray<FTexture2DMipMap> Mips; };

class UTexture2D : public UObject {
public:
    static UTexture2D* CreateTransient(int32 InSizeX, int32 InSizeY, EPixelFormat InFormat = PF_B8G8R8A8);
    FTexturePlatformData* GetPlatformData();
    void UpdateResource();
};

class UGameViewportClient : public UObject {
public:
    void GetViewportSize(FVector2D& out) const;
};
class UEngine : public UObject {
public:
    UGameViewportClient* GameViewport = nullptr;
};
extern UEngine* GEngine;

// --- Slate ----------------------------------------------------------------------------
class SWindow;
class FOnBackBufferReadyToPresent {
public:
    template <typename U>
    FDelegateHandle AddUObject(U* object, void (U::*method)(SWindow&, const FTextureRHIRef&));
    bool Remove(FDelegateHandle handle);
};
class FSlateRenderer {
public:
    FOnBackBufferReadyToPresent& OnBackBufferReadyToPresent();
};
class FSlateApplication {
public:
    static bool IsInitialized();
    static FSlateApplication& Get();
    FSlateRenderer* GetRenderer();
};

// --- Modules, plugins, platform ---------------------------------------------------------
class IModuleInterface {
public:
    virtual ~IModuleInterface();
    virtual void StartupModule() {}
    virtual void ShutdownModule() {}
};
#define IMPLEMENT_MODULE(Class, Name) \
    extern "C" IModuleInterface* InitializeModule##Name() { return new Class(); }

template <typename T>
class TSharedPtr {
public:
    T* operator->() const;
};
class IPlugin {
public:
    virtual ~IPlugin();
    virtual FString GetBaseDir() const = 0;
};
class IPluginManager {
public:
    static IPluginManager& Get();
    TSharedPtr<IPlugin> FindPlugin(const TCHAR* name);
};
struct FPlatformProcess {
    static void* GetDllHandle(const TCHAR* path);
};
struct FPaths {
    static FString Combine(const FString& a, const FString& b);
};
