using System;
using System.Runtime.InteropServices;

namespace Sgaps
{
    /// <summary>
    /// An SGAPS engine in-process: a configuration, its checkpoints and sessions.
    /// Thread-safe: share one engine between threads, each with its own sessions.
    /// Dispose it (or let the finalizer) to free it; open sessions keep it running.
    /// </summary>
    public sealed class SgapsEngine : IDisposable
    {
        private readonly EngineHandle handle;

        /// <param name="confDir">A conf/ directory, or null for the configuration built into the library.</param>
        /// <param name="overrides">Such as "model=spt_small" or "model.resolution=[64,48]".</param>
        public SgapsEngine(string confDir = null, params string[] overrides)
        {
            if (Native.sgaps_abi_version() != Native.AbiVersion)
            {
                throw new SgapsException(SgapsStatus.InvalidArgument, "libsgaps has ABI " + Native.sgaps_abi_version() +
                    ", this binding speaks " + Native.AbiVersion);
            }
            overrides = overrides ?? new string[0];
            // Strings and the pointer array live in unmanaged memory for the call only.
            IntPtr confDirUtf8 = ToUnmanaged(Native.Utf8(confDir));
            IntPtr[] strings = new IntPtr[overrides.Length];
            IntPtr array = Marshal.AllocHGlobal(IntPtr.Size * Math.Max(1, overrides.Length));
            try
            {
                for (int i = 0; i < overrides.Length; i++)
                {
                    strings[i] = ToUnmanaged(Native.Utf8(overrides[i]));
                    Marshal.WriteIntPtr(array, i * IntPtr.Size, strings[i]);
                }
                EngineOptions options = new EngineOptions
                {
                    ConfDir = confDirUtf8,
                    Overrides = array,
                    OverrideCount = (UIntPtr)overrides.Length,
                };
                Native.Check(Native.sgaps_engine_open(ref options, out handle));
            }
            finally
            {
                foreach (IntPtr s in strings) Marshal.FreeHGlobal(s); // FreeHGlobal ignores Zero
                Marshal.FreeHGlobal(array);
                Marshal.FreeHGlobal(confDirUtf8);
            }
        }

        /// <summary>The loaded library's version, e.g. "0.1.0".</summary>
        public static string LibraryVersion { get { return Native.FromUtf8(Native.sgaps_version()); } }

        public EngineInfo Info
        {
            get
            {
                EngineInfo info;
                Native.Check(Native.sgaps_engine_get_info(handle, out info));
                return info;
            }
        }

        /// <summary>Begins a session for a client screen of the given size, served by the
        /// checkpoint <paramref name="checkpointKey"/> ("default" when it has none).</summary>
        public SgapsSession BeginSession(string checkpointKey, int clientWidth, int clientHeight)
        {
            if (clientWidth < 0 || clientHeight < 0)
            {
                throw new ArgumentOutOfRangeException("clientWidth", "the screen size cannot be negative");
            }
            EngineInfo info = Info;
            float[] coordinates = new float[2 * info.SampleCount];
            SessionParams parameters;
            SessionHandle session;
            Native.Check(Native.sgaps_session_begin(handle, Native.Utf8(checkpointKey), (uint)clientWidth,
                (uint)clientHeight, out parameters, coordinates, (UIntPtr)coordinates.Length, out session));
            return new SgapsSession(session, parameters, coordinates, info.MaxSampleCount);
        }

        /// <summary>The keys of the checkpoints on disk, sorted.</summary>
        public string[] Checkpoints()
        {
            UIntPtr length;
            Native.Check(Native.sgaps_engine_list_checkpoints(handle, null, UIntPtr.Zero, out length));
            SgapsStatus status;
            byte[] buffer;
            do // a checkpoint written meanwhile makes the list longer: ask again
            {
                buffer = new byte[(int)length];
                status = Native.sgaps_engine_list_checkpoints(handle, buffer, (UIntPtr)buffer.Length, out length);
            } while (status == SgapsStatus.BufferTooSmall);
            Native.Check(status);
            string text = Native.FixedString(buffer);
            return text.Length == 0 ? new string[0] : text.Split('\n');
        }

        /// <summary>Loads a checkpoint directory (model.safetensors + config.json)
        /// strictly and serves it as <paramref name="key"/> from now on.</summary>
        public void RegisterCheckpoint(string key, string checkpointDir)
        {
            Native.Check(Native.sgaps_engine_register_checkpoint(handle, Native.Utf8(key), Native.Utf8(checkpointDir)));
        }

        public void Dispose()
        {
            handle.Dispose();
        }

        private static IntPtr ToUnmanaged(byte[] bytes)
        {
            if (bytes == null) return IntPtr.Zero;
            IntPtr memory = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, memory, bytes.Length);
            return memory;
        }
    }
}
