// A stub of the part of the Unity API that SgapsRecorder uses, with the signatures of
// Unity 2021.3, so the package compiles and runs headless under Mono. Textures are byte
// arrays in GPU memory order (row 0 at the BOTTOM, as Unity's); StubPlayer plays the
// engine: it runs coroutines, paints the screen and completes readbacks when a test
// says so. Not part of the package (Tests~ is never imported by Unity).
using System;
using System.Collections;
using System.Collections.Generic;
using System.Reflection;
using System.Runtime.InteropServices;

namespace UnityEngine
{
    public class Object
    {
        public static void Destroy(Object obj) { if (obj != null) obj.destroyed = true; }
        internal bool destroyed;
        public static implicit operator bool(Object obj) { return obj != null && !obj.destroyed; }
    }

    public class Component : Object
    {
        public GameObject gameObject { get; internal set; }
        public Transform transform { get { return gameObject == null ? null : gameObject.transform; } }
        public T GetComponent<T>() where T : Component { return gameObject == null ? null : gameObject.GetComponent<T>(); }
    }

    public sealed class GameObject : Object
    {
        private readonly List<Component> components = new List<Component>();
        public GameObject(string name) { transform = AddComponent<Transform>(); }
        public Transform transform { get; private set; }
        public T AddComponent<T>() where T : Component, new()
        {
            T component = new T { gameObject = this };
            components.Add(component);
            return component;
        }
        public T GetComponent<T>() where T : Component
        {
            foreach (Component c in components) if (c is T) return (T)c;
            return null;
        }
        public static GameObject CreatePrimitive(PrimitiveType type) { return new GameObject(type.ToString()); }
    }

    public class Transform : Component
    {
        public Vector3 position { get; set; }
        public Quaternion rotation { get; set; }
    }

    public enum PrimitiveType { Sphere = 0, Capsule = 1, Cylinder = 2, Cube = 3, Plane = 4, Quad = 5 }
    public enum LightType { Spot = 0, Directional = 1, Point = 2 }
    public sealed class Light : Behaviour { public LightType type { get; set; } }

    public struct Vector3
    {
        public float x, y, z;
        public Vector3(float x, float y, float z) { this.x = x; this.y = y; this.z = z; }
    }

    public struct Quaternion
    {
        public float x, y, z, w;
        public static Quaternion Euler(float x, float y, float z) { return new Quaternion(); }
    }

    public struct Rect
    {
        public float x, y, width, height;
        public Rect(float x, float y, float width, float height) { this.x = x; this.y = y; this.width = width; this.height = height; }
    }

    public static class Mathf
    {
        public static float Sin(float f) { return (float)Math.Sin(f); }
        public static float Cos(float f) { return (float)Math.Cos(f); }
    }

    public static class GUI
    {
        public static void DrawTexture(Rect position, Texture image) { }
    }

    [AttributeUsage(AttributeTargets.Class, AllowMultiple = true)]
    public sealed class RequireComponent : Attribute { public RequireComponent(Type requiredComponent) { } }
    public class Behaviour : Component { public bool enabled { get; set; } }

    public class MonoBehaviour : Behaviour
    {
        internal readonly List<IEnumerator> coroutines = new List<IEnumerator>();

        public Coroutine StartCoroutine(IEnumerator routine)
        {
            coroutines.Add(routine);
            StubPlayer.Step(this, routine); // Unity runs a coroutine at once up to its first yield
            return new Coroutine();
        }

        public void StopAllCoroutines() { coroutines.Clear(); }
    }

    public sealed class Coroutine { }
    public class ScriptableObject : Object { }
    public sealed class GUILayoutOption { }
    public class YieldInstruction { }
    public sealed class WaitForEndOfFrame : YieldInstruction { }

    public struct Vector2
    {
        public float x, y;
        public Vector2(float x, float y) { this.x = x; this.y = y; }
    }

    public enum TextureFormat { Alpha8 = 1, RGB24 = 3, RGBA32 = 4, ARGB32 = 5, R8 = 63 }
    public enum RenderTextureFormat { ARGB32 = 0, Default = 7 }
    public enum FilterMode { Point = 0, Bilinear = 1, Trilinear = 2 }

    public class Texture : Object
    {
        public virtual int width { get; set; }
        public virtual int height { get; set; }
        public FilterMode filterMode { get; set; }
        /// <summary>Stub: RGBA (or R8) bytes, row 0 at the bottom.</summary>
        internal byte[] pixels;
        internal int channels;
    }

    public sealed class RenderTexture : Texture
    {
        public RenderTexture(int width, int height, int depth, RenderTextureFormat format)
        {
            this.width = width;
            this.height = height;
            channels = 4;
            pixels = new byte[width * height * 4];
        }

        public bool Create() { return true; }
        public void Release() { }
    }

    public sealed class Texture2D : Texture
    {
        public Texture2D(int width, int height, TextureFormat textureFormat, bool mipChain)
        {
            this.width = width;
            this.height = height;
            channels = textureFormat == TextureFormat.R8 || textureFormat == TextureFormat.Alpha8 ? 1 : 4;
            pixels = new byte[width * height * channels];
        }

        public void LoadRawTextureData(byte[] data)
        {
            if (data.Length < pixels.Length) throw new UnityException("LoadRawTextureData: not enough data provided");
            Array.Copy(data, pixels, pixels.Length);
        }

        public void Apply(bool updateMipmaps) { StubPlayer.TextureApplies++; }

        /// <summary>Stub only: the texture's bytes, row 0 at the bottom.</summary>
        public byte[] StubPixels { get { return pixels; } }
    }

    public class UnityException : Exception { public UnityException(string message) : base(message) { } }

    public static class Graphics
    {
        public static void Blit(Texture source, RenderTexture dest) { Blit(source, dest, new Vector2(1, 1), new Vector2(0, 0)); }

        /// <summary>Nearest-neighbour copy: destination uv maps to source uv * scale + offset.</summary>
        public static void Blit(Texture source, RenderTexture dest, Vector2 scale, Vector2 offset)
        {
            for (int y = 0; y < dest.height; y++)
            {
                float v = ((y + 0.5f) / dest.height) * scale.y + offset.y;
                int sy = Math.Min(source.height - 1, Math.Max(0, (int)Math.Floor(v * source.height)));
                for (int x = 0; x < dest.width; x++)
                {
                    float u = ((x + 0.5f) / dest.width) * scale.x + offset.x;
                    int sx = Math.Min(source.width - 1, Math.Max(0, (int)Math.Floor(u * source.width)));
                    for (int c = 0; c < 4; c++)
                    {
                        dest.pixels[(y * dest.width + x) * 4 + c] =
                            source.pixels[(sy * source.width + sx) * source.channels + Math.Min(c, source.channels - 1)];
                    }
                }
            }
        }
    }

    public static class ScreenCapture
    {
        /// <summary>Stub: copies StubPlayer's screen, upside down where UVs start at the top
        /// (as Unity's does on Direct3D, Metal and Vulkan).</summary>
        public static void CaptureScreenshotIntoRenderTexture(RenderTexture renderTexture)
        {
            int w = Screen.width, h = Screen.height;
            if (renderTexture.width != w || renderTexture.height != h) throw new UnityException("size differs from the screen");
            for (int y = 0; y < h; y++)
            {
                int from = SystemInfo.graphicsUVStartsAtTop ? h - 1 - y : y;
                Array.Copy(StubPlayer.ScreenBottomUp, from * w * 4, renderTexture.pixels, y * w * 4, w * 4);
            }
        }
    }

    public static class Screen
    {
        public static int width { get { return StubPlayer.ScreenWidth; } }
        public static int height { get { return StubPlayer.ScreenHeight; } }
    }

    public static class SystemInfo
    {
        public static bool graphicsUVStartsAtTop { get { return StubPlayer.UVStartsAtTop; } }
    }

    public static class Time
    {
        public static float time { get { return StubPlayer.Time; } }
        public static float unscaledTime { get { return StubPlayer.Time; } }
    }

    public static class Debug
    {
        public static void Log(object message) { StubPlayer.Logs.Add("log: " + message); }
        public static void LogWarning(object message) { StubPlayer.Logs.Add("warning: " + message); }
        public static void LogError(object message) { StubPlayer.Logs.Add("error: " + message); }
    }

    [AttributeUsage(AttributeTargets.Field)] public sealed class SerializeField : Attribute { }
    [AttributeUsage(AttributeTargets.Field)] public sealed class TooltipAttribute : Attribute { public TooltipAttribute(string tooltip) { } }
    [AttributeUsage(AttributeTargets.Field)] public sealed class HeaderAttribute : Attribute { public HeaderAttribute(string header) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class AddComponentMenu : Attribute { public AddComponentMenu(string menuName) { } }
    [AttributeUsage(AttributeTargets.Class)] public sealed class DisallowMultipleComponent : Attribute { }

    /// <summary>Stub only: plays the engine's part for tests.</summary>
    public static class StubPlayer
    {
        public static int ScreenWidth = 64, ScreenHeight = 48;
        /// <summary>The rendered screen, RGBA, row 0 at the bottom.</summary>
        public static byte[] ScreenBottomUp = new byte[64 * 48 * 4];
        public static bool UVStartsAtTop;
        public static float Time;
        public static int TextureApplies;
        public static readonly List<string> Logs = new List<string>();
        internal static readonly List<KeyValuePair<byte[], UnityEngine.Rendering.AsyncGPUReadbackRequest>> Pending =
            new List<KeyValuePair<byte[], UnityEngine.Rendering.AsyncGPUReadbackRequest>>();
        internal static readonly List<Action<UnityEngine.Rendering.AsyncGPUReadbackRequest>> Callbacks =
            new List<Action<UnityEngine.Rendering.AsyncGPUReadbackRequest>>();

        /// <summary>Paints the screen from a function of (x, yTop) with yTop = 0 the top row.</summary>
        public static void Paint(int width, int height, Func<int, int, byte> grey)
        {
            ScreenWidth = width;
            ScreenHeight = height;
            ScreenBottomUp = new byte[width * height * 4];
            for (int yTop = 0; yTop < height; yTop++)
            {
                for (int x = 0; x < width; x++)
                {
                    int i = ((height - 1 - yTop) * width + x) * 4;
                    byte g = grey(x, yTop);
                    ScreenBottomUp[i] = ScreenBottomUp[i + 1] = ScreenBottomUp[i + 2] = g;
                    ScreenBottomUp[i + 3] = 255;
                }
            }
        }

        public static void Enable(MonoBehaviour behaviour) { behaviour.enabled = true; Invoke(behaviour, "OnEnable"); }
        public static void Disable(MonoBehaviour behaviour) { Invoke(behaviour, "OnDisable"); behaviour.enabled = false; }

        /// <summary>The end of a rendered frame: every coroutine waiting for it goes on.</summary>
        public static void EndOfFrame(MonoBehaviour behaviour)
        {
            foreach (IEnumerator routine in behaviour.coroutines.ToArray()) Step(behaviour, routine);
        }

        internal static void Step(MonoBehaviour behaviour, IEnumerator routine)
        {
            if (!routine.MoveNext()) behaviour.coroutines.Remove(routine);
        }

        public static int PendingReadbacks { get { return Pending.Count; } }

        /// <summary>Completes the oldest <paramref name="count"/> readbacks, in order.</summary>
        public static void CompleteReadbacks(int count, bool error = false)
        {
            for (int i = 0; i < count && Pending.Count > 0; i++)
            {
                var request = Pending[0].Value;
                var callback = Callbacks[0];
                Pending.RemoveAt(0);
                Callbacks.RemoveAt(0);
                request.done = true;
                request.hasError = error;
                callback(request);
                request.Free();
            }
        }

        private static void Invoke(object target, string method)
        {
            MethodInfo m = target.GetType().GetMethod(method, BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic);
            if (m != null) m.Invoke(target, null);
        }
    }
}

namespace UnityEngine.Rendering
{
    public struct AsyncGPUReadbackRequest
    {
        internal byte[] data;
        internal GCHandle pin;
        public bool done { get; internal set; }
        public bool hasError { get; internal set; }
        public int width { get; internal set; }
        public int height { get; internal set; }
        public int layerCount { get { return 1; } }

        public Unity.Collections.NativeArray<T> GetData<T>(int layer = 0) where T : struct
        {
            if (!done || hasError) throw new InvalidOperationException("Cannot access the data as it is not available");
            return new Unity.Collections.NativeArray<T>(pin.AddrOfPinnedObject(), data.Length);
        }

        internal void Free() { if (pin.IsAllocated) pin.Free(); }
    }

    public static class AsyncGPUReadback
    {
        /// <summary>Stub: snapshots the texture now; StubPlayer.CompleteReadbacks delivers it.</summary>
        public static AsyncGPUReadbackRequest Request(Texture src, int mipIndex, TextureFormat dstFormat,
            Action<AsyncGPUReadbackRequest> callback)
        {
            if (dstFormat != TextureFormat.RGBA32) throw new NotSupportedException("stub: RGBA32 only");
            byte[] copy = (byte[])src.pixels.Clone();
            var request = new AsyncGPUReadbackRequest
            {
                data = copy,
                pin = GCHandle.Alloc(copy, GCHandleType.Pinned),
                width = src.width,
                height = src.height,
            };
            StubPlayer.Pending.Add(new System.Collections.Generic.KeyValuePair<byte[], AsyncGPUReadbackRequest>(copy, request));
            StubPlayer.Callbacks.Add(callback);
            return request;
        }

        public static void WaitAllRequests() { StubPlayer.CompleteReadbacks(int.MaxValue); }
    }
}

namespace Unity.Collections
{
    public struct NativeArray<T> : IDisposable where T : struct
    {
        internal IntPtr buffer;
        private readonly int length;

        internal NativeArray(IntPtr buffer, int bytes)
        {
            this.buffer = buffer;
            length = bytes / Marshal.SizeOf(typeof(T));
        }

        public int Length { get { return length; } }
        public void Dispose() { }
    }
}

namespace Unity.Collections.LowLevel.Unsafe
{
    public static class NativeArrayUnsafeUtility
    {
        public static unsafe void* GetUnsafeReadOnlyPtr<T>(this Unity.Collections.NativeArray<T> nativeArray) where T : struct
        {
            return (void*)nativeArray.buffer;
        }
    }
}
