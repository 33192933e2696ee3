using System;
using System.Runtime.InteropServices;

namespace Sgaps
{
    /// <summary>
    /// One client's stream of frames. Use it from one thread at a time (Unity: the main
    /// thread, or one worker). Dispose ends and frees it.
    /// </summary>
    public sealed class SgapsSession : IDisposable
    {
        private readonly SessionHandle handle;

        /// <summary>What the session runs with: sample count, resolution, checkpoint.</summary>
        public SessionParams Params { get; private set; }

        /// <summary>The (u, v) pairs to sample from frame 0 on: 2 * SampleCount floats.</summary>
        public float[] InitialCoordinates { get; private set; }

        /// <summary>Elements each output array of Submit needs.</summary>
        public int ReconstructionLength { get { return (int)(Params.Width * Params.Height); } }
        public int CoordinatesLength { get { return (int)(2 * Params.SampleCount); } }

        internal SgapsSession(SessionHandle handle, SessionParams parameters, float[] initialCoordinates)
        {
            this.handle = handle;
            Params = parameters;
            InitialCoordinates = initialCoordinates;
        }

        /// <summary>
        /// Reconstructs one frame into caller arrays, allocation-free, for every frame of a
        /// game: <paramref name="pixels"/> holds (u, v, value) triples, <paramref name="state"/>
        /// up to MaxStateDim values (or null). <paramref name="reconstruction"/> (Width * Height
        /// bytes, top row first), <paramref name="importance"/> (Width * Height floats) and
        /// <paramref name="coordinates"/> (2 * SampleCount floats, written when the result's
        /// CoordinatesUpdated is set) may each be null to skip that output.
        /// </summary>
        public FrameResult Submit(ulong frameId, double timestamp, float[] pixels, float[] state,
            byte[] reconstruction, float[] importance, float[] coordinates)
        {
            if (pixels == null || pixels.Length % 3 != 0)
            {
                throw new ArgumentException("pixels must hold (u, v, value) triples", "pixels");
            }
            state = state ?? new float[0];
            // Pin every array for the duration of the call; C reads and writes them in place.
            GCHandle[] pins = new GCHandle[5];
            try
            {
                Frame frame = new Frame
                {
                    FrameId = frameId,
                    Timestamp = timestamp,
                    Pixels = Pin(pixels, ref pins[0]),
                    PixelCount = (UIntPtr)(pixels.Length / 3),
                    State = Pin(state, ref pins[1]),
                    StateLen = (UIntPtr)state.Length,
                };
                FrameBuffers buffers = new FrameBuffers
                {
                    Reconstruction = Pin(reconstruction, ref pins[2]),
                    ReconstructionCapacity = (UIntPtr)(reconstruction == null ? 0 : reconstruction.Length),
                    Importance = Pin(importance, ref pins[3]),
                    ImportanceCapacity = (UIntPtr)(importance == null ? 0 : importance.Length),
                    Coordinates = Pin(coordinates, ref pins[4]),
                    CoordinatesCapacity = (UIntPtr)(coordinates == null ? 0 : coordinates.Length),
                };
                FrameResult result;
                Native.Check(Native.sgaps_session_submit(handle, ref frame, ref buffers, out result));
                return result;
            }
            finally
            {
                foreach (GCHandle pin in pins)
                {
                    if (pin.IsAllocated) pin.Free();
                }
            }
        }

        /// <summary>Ends the session and returns its totals; later frames throw UnknownSession.</summary>
        public SessionStats End()
        {
            SessionStats stats;
            Native.Check(Native.sgaps_session_end(handle, out stats));
            return stats;
        }

        public void Dispose()
        {
            handle.Dispose();
        }

        private static IntPtr Pin(Array array, ref GCHandle pin)
        {
            if (array == null || array.Length == 0) return IntPtr.Zero;
            pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            return pin.AddrOfPinnedObject();
        }
    }
}
