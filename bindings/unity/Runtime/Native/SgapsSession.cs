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
            return Submit(frameId, timestamp, pixels, pixels.Length / 3, state, state == null ? 0 : state.Length,
                reconstruction, importance, coordinates);
        }

        /// <summary>
        /// As above, for the first <paramref name="pixelCount"/> triples of
        /// <paramref name="pixels"/> and the first <paramref name="stateCount"/> values of
        /// <paramref name="state"/>, so a caller can reuse fixed arrays for every frame.
        /// </summary>
        public FrameResult Submit(ulong frameId, double timestamp, float[] pixels, int pixelCount, float[] state,
            int stateCount, byte[] reconstruction, float[] importance, float[] coordinates)
        {
            if (pixels == null || pixelCount < 0 || 3 * pixelCount > pixels.Length)
            {
                throw new ArgumentException("pixels must hold pixelCount (u, v, value) triples", "pixels");
            }
            if (stateCount < 0 || stateCount > (state == null ? 0 : state.Length))
            {
                throw new ArgumentException("state must hold stateCount values", "state");
            }
            // Pin every array for the duration of the call; C reads and writes them in place.
            // Separate locals rather than an array of handles: a frame allocates nothing.
            GCHandle pixelsPin = default(GCHandle), statePin = default(GCHandle), reconstructionPin = default(GCHandle),
                importancePin = default(GCHandle), coordinatesPin = default(GCHandle);
            try
            {
                Frame frame = new Frame
                {
                    FrameId = frameId,
                    Timestamp = timestamp,
                    Pixels = Pin(pixels, ref pixelsPin),
                    PixelCount = (UIntPtr)pixelCount,
                    State = stateCount == 0 ? IntPtr.Zero : Pin(state, ref statePin),
                    StateLen = (UIntPtr)stateCount,
                };
                FrameBuffers buffers = new FrameBuffers
                {
                    Reconstruction = Pin(reconstruction, ref reconstructionPin),
                    ReconstructionCapacity = (UIntPtr)(reconstruction == null ? 0 : reconstruction.Length),
                    Importance = Pin(importance, ref importancePin),
                    ImportanceCapacity = (UIntPtr)(importance == null ? 0 : importance.Length),
                    Coordinates = Pin(coordinates, ref coordinatesPin),
                    CoordinatesCapacity = (UIntPtr)(coordinates == null ? 0 : coordinates.Length),
                };
                FrameResult result;
                Native.Check(Native.sgaps_session_submit(handle, ref frame, ref buffers, out result));
                return result;
            }
            finally
            {
                Unpin(ref pixelsPin);
                Unpin(ref statePin);
                Unpin(ref reconstructionPin);
                Unpin(ref importancePin);
                Unpin(ref coordinatesPin);
            }
        }

        /// <summary>Drops the session's history (temporal models): the next frame starts afresh.
        /// Call it where the picture starts over (a level load, a camera cut).</summary>
        public void Reset()
        {
            Native.Check(Native.sgaps_session_reset(handle));
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

        private static void Unpin(ref GCHandle pin)
        {
            if (pin.IsAllocated) pin.Free();
        }

        private static IntPtr Pin(Array array, ref GCHandle pin)
        {
            if (array == null || array.Length == 0) return IntPtr.Zero;
            pin = GCHandle.Alloc(array, GCHandleType.Pinned);
            return pin.AddrOfPinnedObject();
        }
    }
}
