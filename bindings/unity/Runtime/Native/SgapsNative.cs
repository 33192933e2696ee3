// The C API of sgaps.h, declared for P/Invoke: status codes, structs field for field,
// and one extern per function. Bools are bytes (C's 1-byte bool; the default marshalling
// would read 4 bytes), sizes are UIntPtr (size_t), and every call is Cdecl.
using System;
using System.Runtime.InteropServices;

namespace Sgaps
{
    public enum SgapsStatus : int
    {
        Ok = 0,
        NullArgument = 1,
        InvalidArgument = 2,
        InvalidFrame = 3,
        UnknownSession = 4,
        BufferTooSmall = 5,
        ModelError = 6,
        ConfigError = 7,
        CheckpointError = 8,
        IoError = 9,
        Panic = 10,
        Pending = 11,     // SgapsSession.Poll: nothing arrived yet
        Superseded = 12,  // a newer frame of the session replaced this one before it ran
        Busy = 13,        // the engine's inference queue is full; the frame was not taken
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct EngineOptions
    {
        public IntPtr ConfDir;         // const char*, NULL = built-in configuration
        public IntPtr Overrides;       // const char* const*
        public UIntPtr OverrideCount;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct EngineInfo
    {
        public uint SampleCount;
        public uint MaxSampleCount;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 64)]
        public byte[] DeviceUtf8;

        public string Device { get { return Native.FixedString(DeviceUtf8); } }
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SessionParams
    {
        public ulong SessionId;
        public uint SampleCount;
        public uint MaxStateDim;
        public uint TargetFps;
        public uint Width;
        public uint Height;
        public uint ClientWidth;
        public uint ClientHeight;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.NameCapacity)]
        public byte[] CheckpointKeyUtf8;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = Native.NameCapacity)]
        public byte[] ModelVersionUtf8;
        public byte CheckpointLoadedByte;

        public string CheckpointKey { get { return Native.FixedString(CheckpointKeyUtf8); } }
        public string ModelVersion { get { return Native.FixedString(ModelVersionUtf8); } }
        public bool CheckpointLoaded { get { return CheckpointLoadedByte != 0; } }
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct BufferSizes
    {
        public UIntPtr Reconstruction;
        public UIntPtr Importance;
        public UIntPtr Coordinates;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct SessionStats
    {
        public ulong FramesReconstructed;
        public ulong MaskUpdates;
        public ulong TotalPixels;
        public ulong FramesWithGroundTruth;
        public ulong LastFrameId;
        public double MeanSamplePsnr;
        public double MeanPsnr;   // NaN without ground truth
        public double MeanSsim;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct Frame
    {
        public ulong FrameId;
        public double Timestamp;
        public IntPtr Pixels;          // (u, v, value) float triples
        public UIntPtr PixelCount;
        public IntPtr State;
        public UIntPtr StateLen;
        public IntPtr GroundTruth;
        public uint GroundTruthWidth;
        public uint GroundTruthHeight;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct FrameBuffers
    {
        public IntPtr Reconstruction;
        public UIntPtr ReconstructionCapacity;
        public IntPtr Importance;
        public UIntPtr ImportanceCapacity;
        public IntPtr Coordinates;
        public UIntPtr CoordinatesCapacity;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct FrameResult
    {
        public ulong FrameId;
        public ulong TargetFrameId;    // when CoordinatesUpdated: first frame to sample at them
        public uint Width;
        public uint Height;
        public uint CoordinateCount;   // (u, v) pairs written to the coordinates buffer
        public uint BatchSize;
        public double SamplePsnr;
        public double GroundTruthPsnr; // NaN without ground truth
        public double GroundTruthSsim;
        public double InferenceMs;
        public byte CoordinatesUpdatedByte;

        public bool CoordinatesUpdated { get { return CoordinatesUpdatedByte != 0; } }
    }

    internal static class Native
    {
        // iOS links plugins statically; everywhere else the library is libsgaps.so /
        // libsgaps.dylib / sgaps.dll, which this one name finds.
#if UNITY_IOS && !UNITY_EDITOR
        private const string Library = "__Internal";
#else
        private const string Library = "sgaps";
#endif
        public const uint AbiVersion = 1;   // SGAPS_ABI_VERSION
        public const int NameCapacity = 160; // SGAPS_NAME_CAPACITY

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern uint sgaps_abi_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr sgaps_version();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr sgaps_last_error();

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr sgaps_status_name(int status);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_engine_open(ref EngineOptions options, out EngineHandle engine);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void sgaps_engine_free(IntPtr engine);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_engine_get_info(EngineHandle engine, out EngineInfo info);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_begin(
            EngineHandle engine, byte[] checkpointKeyUtf8, uint clientWidth, uint clientHeight,
            out SessionParams parameters, [Out] float[] initialCoordinates, UIntPtr capacity,
            out SessionHandle session);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_buffer_sizes(SessionHandle session, out BufferSizes sizes);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_reset(SessionHandle session);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_end(SessionHandle session, out SessionStats stats);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void sgaps_session_free(IntPtr session);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_submit(
            SessionHandle session, ref Frame frame, ref FrameBuffers buffers, out FrameResult result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_submit_async(SessionHandle session, ref Frame frame);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_poll(
            SessionHandle session, uint timeoutMs, ref FrameBuffers buffers, out FrameResult result);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_session_rebind(
            SessionHandle session, out SessionParams parameters, [Out] float[] coordinates, UIntPtr capacity);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_engine_list_checkpoints(
            EngineHandle engine, [Out] byte[] buffer, UIntPtr capacity, out UIntPtr length);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern SgapsStatus sgaps_engine_register_checkpoint(
            EngineHandle engine, byte[] keyUtf8, byte[] checkpointDirUtf8);

        /// <summary>A NUL-terminated UTF-8 copy of <paramref name="text"/> (null stays null).</summary>
        public static byte[] Utf8(string text)
        {
            if (text == null) return null;
            byte[] bytes = new byte[System.Text.Encoding.UTF8.GetByteCount(text) + 1];
            System.Text.Encoding.UTF8.GetBytes(text, 0, text.Length, bytes, 0);
            return bytes;
        }

        /// <summary>The C string at <paramref name="pointer"/>, decoded as UTF-8.</summary>
        public static string FromUtf8(IntPtr pointer)
        {
            if (pointer == IntPtr.Zero) return "";
            int length = 0;
            while (Marshal.ReadByte(pointer, length) != 0) length++;
            byte[] bytes = new byte[length];
            Marshal.Copy(pointer, bytes, 0, length);
            return System.Text.Encoding.UTF8.GetString(bytes);
        }

        public static string FixedString(byte[] field)
        {
            if (field == null) return "";
            int length = Array.IndexOf(field, (byte)0);
            return System.Text.Encoding.UTF8.GetString(field, 0, length < 0 ? field.Length : length);
        }

        /// <summary>Throws SgapsException for a failed call, with this thread's message.</summary>
        public static void Check(SgapsStatus status)
        {
            if (status != SgapsStatus.Ok)
            {
                throw new SgapsException(status, FromUtf8(sgaps_last_error()));
            }
        }
    }
}
