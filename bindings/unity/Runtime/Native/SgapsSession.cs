using System;
using System.Runtime.InteropServices;

namespace Sgaps
{
    /// <summary>
    /// One client's stream of frames. Use it from one thread at a time (Unity: the main
    /// thread, or one worker). Dispose ends and frees it.
    ///
    /// Submit blocks until the frame is reconstructed. A game loop that must not wait
    /// calls SubmitAsync and Poll every frame instead (not both kinds on one session):
    /// <code>
    /// session.SubmitAsync(frameId, Time.time, pixels, state);     // returns at once
    /// FrameResult result;
    /// while (session.Poll(0, reconstruction, importance, next, out result) != SgapsStatus.Pending)
    ///     { /* Ok: the arrays hold frame result.FrameId; Superseded: no picture for it */ }
    /// </code>
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

        private readonly uint maxSampleCount; // room for Rebind's coordinates

        internal SgapsSession(SessionHandle handle, SessionParams parameters, float[] initialCoordinates,
            uint maxSampleCount)
        {
            this.handle = handle;
            Params = parameters;
            InitialCoordinates = initialCoordinates;
            this.maxSampleCount = maxSampleCount;
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
            CheckFrameArrays(pixels, pixelCount, state, stateCount);
            // Pin every array for the duration of the call; C reads and writes them in place.
            // Separate locals rather than an array of handles: a frame allocates nothing.
            GCHandle pixelsPin = default(GCHandle), statePin = default(GCHandle), reconstructionPin = default(GCHandle),
                importancePin = default(GCHandle), coordinatesPin = default(GCHandle);
            try
            {
                Frame frame = PinFrame(frameId, timestamp, pixels, pixelCount, state, stateCount, ref pixelsPin,
                    ref statePin);
                FrameBuffers buffers = Buffers(reconstruction, importance, coordinates, ref reconstructionPin,
                    ref importancePin, ref coordinatesPin);
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

        /// <summary>
        /// Queues one frame on the engine's inference worker and returns at once (the frame
        /// is copied; arguments as for Submit). Returns false when the engine's queue is full
        /// (SgapsStatus.Busy): the frame was not taken and gets no answer. A bad frame throws.
        /// A newer frame replaces the session's waiting one; Poll answers that one Superseded.
        /// </summary>
        public bool SubmitAsync(ulong frameId, double timestamp, float[] pixels, float[] state)
        {
            if (pixels == null || pixels.Length % 3 != 0)
            {
                throw new ArgumentException("pixels must hold (u, v, value) triples", "pixels");
            }
            return SubmitAsync(frameId, timestamp, pixels, pixels.Length / 3, state, state == null ? 0 : state.Length);
        }

        /// <summary>As above, for the first pixelCount triples and stateCount state values.</summary>
        public bool SubmitAsync(ulong frameId, double timestamp, float[] pixels, int pixelCount, float[] state,
            int stateCount)
        {
            CheckFrameArrays(pixels, pixelCount, state, stateCount);
            GCHandle pixelsPin = default(GCHandle), statePin = default(GCHandle);
            try
            {
                Frame frame = PinFrame(frameId, timestamp, pixels, pixelCount, state, stateCount, ref pixelsPin,
                    ref statePin);
                SgapsStatus status = Native.sgaps_session_submit_async(handle, ref frame);
                if (status == SgapsStatus.Busy) return false;
                Native.Check(status);
                return true;
            }
            finally
            {
                Unpin(ref pixelsPin);
                Unpin(ref statePin);
            }
        }

        /// <summary>The native frame over pinned <paramref name="pixels"/> and <paramref name="state"/>;
        /// the caller unpins both when the call that reads them has returned.</summary>
        private static Frame PinFrame(ulong frameId, double timestamp, float[] pixels, int pixelCount, float[] state,
            int stateCount, ref GCHandle pixelsPin, ref GCHandle statePin)
        {
            return new Frame
            {
                FrameId = frameId,
                Timestamp = timestamp,
                Pixels = Pin(pixels, ref pixelsPin),
                PixelCount = (UIntPtr)pixelCount,
                State = stateCount == 0 ? IntPtr.Zero : Pin(state, ref statePin),
                StateLen = (UIntPtr)stateCount,
            };
        }

        /// <summary>
        /// Takes the answer to the oldest frame from SubmitAsync, waiting at most
        /// <paramref name="timeoutMs"/> (0: only look), allocation-free. Ok: the arrays (as
        /// for Submit; null skips one) and <paramref name="result"/> hold frame result.FrameId.
        /// Superseded: frame result.FrameId was replaced by a newer one before it ran (no
        /// picture; not an error). Pending: nothing arrived yet. A frame that failed throws
        /// SgapsException with its FrameId. Answers come once per frame, in submission order.
        /// </summary>
        public SgapsStatus Poll(uint timeoutMs, byte[] reconstruction, float[] importance, float[] coordinates,
            out FrameResult result)
        {
            GCHandle reconstructionPin = default(GCHandle), importancePin = default(GCHandle),
                coordinatesPin = default(GCHandle);
            try
            {
                FrameBuffers buffers = Buffers(reconstruction, importance, coordinates, ref reconstructionPin,
                    ref importancePin, ref coordinatesPin);
                SgapsStatus status = Native.sgaps_session_poll(handle, timeoutMs, ref buffers, out result);
                switch (status)
                {
                    case SgapsStatus.Ok:
                    case SgapsStatus.Pending:
                    case SgapsStatus.Superseded:
                        return status;
                    case SgapsStatus.NullArgument:
                    case SgapsStatus.InvalidArgument:
                    case SgapsStatus.BufferTooSmall:
                        throw new SgapsException(status, Native.FromUtf8(Native.sgaps_last_error()));
                    default: // that frame's own failure
                        throw new SgapsException(status, Native.FromUtf8(Native.sgaps_last_error()), result.FrameId);
                }
            }
            finally
            {
                Unpin(ref reconstructionPin);
                Unpin(ref importancePin);
                Unpin(ref coordinatesPin);
            }
        }

        /// <summary>
        /// Binds the session to the checkpoint its key names now (one registered since it
        /// began; a session never changes model by itself) and returns its new parameters, also
        /// in Params: the resolution, and with it the array lengths, may change.
        /// <paramref name="coordinates"/> receives the (u, v) pairs to sample from the next frame
        /// on. The history starts afresh. Poll every frame in flight first.
        /// </summary>
        public SessionParams Rebind(out float[] coordinates)
        {
            float[] room = new float[2 * maxSampleCount];
            SessionParams parameters;
            Native.Check(Native.sgaps_session_rebind(handle, out parameters, room, (UIntPtr)room.Length));
            coordinates = new float[2 * parameters.SampleCount];
            Array.Copy(room, coordinates, coordinates.Length);
            Params = parameters;
            return parameters;
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

        private static void CheckFrameArrays(float[] pixels, int pixelCount, float[] state, int stateCount)
        {
            if (pixels == null || pixelCount < 0 || 3 * pixelCount > pixels.Length)
            {
                throw new ArgumentException("pixels must hold pixelCount (u, v, value) triples", "pixels");
            }
            if (stateCount < 0 || stateCount > (state == null ? 0 : state.Length))
            {
                throw new ArgumentException("state must hold stateCount values", "state");
            }
        }

        // The output arrays pinned for one call (null skips that output).
        private static FrameBuffers Buffers(byte[] reconstruction, float[] importance, float[] coordinates,
            ref GCHandle reconstructionPin, ref GCHandle importancePin, ref GCHandle coordinatesPin)
        {
            return new FrameBuffers
            {
                Reconstruction = Pin(reconstruction, ref reconstructionPin),
                ReconstructionCapacity = (UIntPtr)(reconstruction == null ? 0 : reconstruction.Length),
                Importance = Pin(importance, ref importancePin),
                ImportanceCapacity = (UIntPtr)(importance == null ? 0 : importance.Length),
                Coordinates = Pin(coordinates, ref coordinatesPin),
                CoordinatesCapacity = (UIntPtr)(coordinates == null ? 0 : coordinates.Length),
            };
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
