// The engine-independent half of SgapsRecorder: frame ids, the coordinates each capture
// uses, the state vector, sampling, and submission on one worker thread. A game engine
// only has to capture: BeginCapture when it asks for a frame, CompleteCapture when the
// pixels are in memory (a readback completes frames later; the frame keeps the id,
// coordinates and state of the moment it was asked for).
//
//   main thread                                  worker thread
//   BeginCapture: id, coordinates, state  ─┐
//   (readback in flight)                   │
//   CompleteCapture: sample ──> FrameQueue ┴──>  backend.Submit ──> CoordinateSchedule
//                     (bounded, newest wins)                    └─> latest reconstruction
using System;
using System.Threading;

namespace Sgaps
{
    public sealed class RecorderDriver : IDisposable
    {
        private readonly IFrameBackend backend;
        private readonly FrameQueue queue;
        private readonly Thread worker;
        private readonly object stateGate = new object();
        private readonly float[] state;
        private int stateCount;
        private ulong nextFrameId;
        private int disposed;

        // Reconstructions: the worker writes into `working`, then swaps it with `latest`.
        private readonly object reconstructionGate = new object();
        private byte[] working;
        private byte[] latest;
        private ulong latestFrameId;
        private bool latestFresh;

        private long captured, submitted, failed, skipped;
        private string lastError;

        /// <param name="backend">Where frames go; the driver opens it and disposes it.</param>
        /// <param name="clientWidth">Width of the captured frames.</param>
        /// <param name="queueCapacity">Frames that may wait for the worker (newest win).</param>
        /// <param name="maxInFlight">Captures that may be in flight at once (readbacks).</param>
        /// <param name="reconstruct">Keep the latest reconstruction (embedded mode).</param>
        public RecorderDriver(IFrameBackend backend, int clientWidth, int clientHeight, int queueCapacity = 2,
            int maxInFlight = 4, bool reconstruct = false)
        {
            this.backend = backend;
            Session = backend.Open(clientWidth, clientHeight, info => Schedule = new CoordinateSchedule(info.InitialCoordinates));
            if (Schedule == null) throw new InvalidOperationException("the backend did not make a schedule");
            state = new float[Math.Max(0, Session.MaxStateDim)];
            queue = new FrameQueue(queueCapacity, queueCapacity + maxInFlight + 1, Session.SampleCount, state.Length);
            if (reconstruct)
            {
                working = new byte[Session.Width * Session.Height];
                latest = new byte[working.Length];
            }
            worker = new Thread(Work) { IsBackground = true, Name = "SGAPS submit" };
            worker.Start();
        }

        public SessionInfo Session { get; private set; }
        public CoordinateSchedule Schedule { get; private set; }

        /// <summary>Called on the capturing thread when a frame is sampled, before it is
        /// queued (to draw or log the samples); the slot is only valid during the call.</summary>
        public event Action<FrameSlot> FrameSampled;

        /// <summary>Called on the worker thread after every frame, in frame order.</summary>
        public event Action<FrameOutcome> FrameDone;

        public long FramesCaptured { get { return Interlocked.Read(ref captured); } }
        public long FramesSubmitted { get { return Interlocked.Read(ref submitted); } }
        public long FramesFailed { get { return Interlocked.Read(ref failed); } }
        /// <summary>Captures not taken because every slot was busy.</summary>
        public long FramesSkipped { get { return Interlocked.Read(ref skipped); } }
        /// <summary>Frames dropped from the queue for newer ones.</summary>
        public long FramesDropped { get { return queue.Dropped; } }
        public string LastError { get { return Volatile.Read(ref lastError); } }
        public bool IsDisposed { get { return Volatile.Read(ref disposed) != 0; } }

        /// <summary>Sets the state vector sent with the next captures (at most MaxStateDim
        /// values; extra ones are an error). Any thread; copied, not kept.</summary>
        public void SetState(float[] values, int count)
        {
            if (values == null ? count != 0 : count < 0 || count > values.Length)
            {
                throw new ArgumentException("count must be within the array", "count");
            }
            if (count > state.Length)
            {
                throw new ArgumentException("the state holds at most " + state.Length + " values, not " + count);
            }
            lock (stateGate)
            {
                if (count > 0) Array.Copy(values, state, count);
                stateCount = count;
            }
        }

        /// <summary>Sets one state value, growing the vector to index + 1 values (zeros between).</summary>
        public void SetState(int index, float value)
        {
            if (index < 0 || index >= state.Length)
            {
                throw new ArgumentOutOfRangeException("index", "the state holds at most " + state.Length + " values");
            }
            lock (stateGate)
            {
                for (int i = stateCount; i < index; i++) state[i] = 0f;
                state[index] = value;
                stateCount = Math.Max(stateCount, index + 1);
            }
        }

        /// <summary>
        /// Starts a capture at game time <paramref name="timestamp"/>: the frame gets the next
        /// id, the coordinates in effect for it and the current state. Returns null when the
        /// driver is disposed or every slot is busy (skip this frame). Allocates nothing.
        /// </summary>
        public FrameSlot BeginCapture(double timestamp)
        {
            if (IsDisposed) return null;
            FrameSlot slot = queue.Rent();
            if (slot == null)
            {
                Interlocked.Increment(ref skipped);
                return null;
            }
            slot.FrameId = nextFrameId++;
            slot.Timestamp = timestamp;
            slot.Coordinates = Schedule.For(slot.FrameId);
            slot.PixelCount = 0;
            lock (stateGate)
            {
                Array.Copy(state, slot.State, stateCount);
                slot.StateCount = stateCount;
            }
            return slot;
        }

        /// <summary>Samples the captured pixels at the slot's coordinates and queues the
        /// frame for the worker. <paramref name="frame"/> is read during the call only.</summary>
        public void CompleteCapture(FrameSlot slot, FrameView frame)
        {
            try
            {
                int count = slot.Coordinates.Length / 2;
                FrameSampler.Sample(frame, slot.Coordinates, count, slot.Pixels);
                slot.PixelCount = count;
            }
            catch
            {
                queue.Release(slot);
                throw;
            }
            Interlocked.Increment(ref captured);
            Action<FrameSlot> sampled = FrameSampled;
            if (sampled != null) sampled(slot);
            queue.Publish(slot); // after Dispose the queue takes the slot back and drops it
        }

        /// <summary>Gives back a capture that failed (a readback error).</summary>
        public void CancelCapture(FrameSlot slot)
        {
            if (slot != null) queue.Release(slot);
        }

        /// <summary>
        /// Copies the newest reconstruction not yet copied into <paramref name="destination"/>
        /// (Session.Width * Session.Height bytes) in the row order asked for. False when none
        /// is new. Allocates nothing.
        /// </summary>
        public bool CopyLatestReconstruction(byte[] destination, RowOrder rows, out ulong frameId)
        {
            lock (reconstructionGate)
            {
                frameId = latestFrameId;
                if (!latestFresh) return false;
                FrameSampler.CopyRows(latest, Session.Width, Session.Height, destination, rows);
                latestFresh = false;
                return true;
            }
        }

        private void Work()
        {
            for (FrameSlot slot = queue.Take(); slot != null; slot = queue.Take())
            {
                FrameOutcome outcome;
                try
                {
                    outcome = backend.Submit(slot, working);
                    Interlocked.Increment(ref submitted);
                    if (outcome.Reconstructed && working != null)
                    {
                        lock (reconstructionGate)
                        {
                            byte[] written = working;
                            working = latest;
                            latest = written;
                            latestFrameId = outcome.FrameId;
                            latestFresh = true;
                        }
                    }
                }
                catch (Exception e)
                {
                    // A bad frame or a dropped connection: count it, keep going.
                    Interlocked.Increment(ref failed);
                    Volatile.Write(ref lastError, e.Message);
                    outcome = new FrameOutcome { FrameId = slot.FrameId, Failed = true, Error = e.Message };
                }
                finally
                {
                    queue.Release(slot);
                }
                Action<FrameOutcome> done = FrameDone;
                if (done != null) done(outcome);
            }
        }

        /// <summary>
        /// Stops taking frames, lets the frame being submitted finish (waiting up to
        /// <paramref name="timeoutMs"/>), drops the waiting ones and closes the backend.
        /// Captures completed afterwards are dropped. Safe to call twice.
        /// </summary>
        public void Dispose(int timeoutMs)
        {
            if (Interlocked.Exchange(ref disposed, 1) != 0) return;
            queue.Close();
            if (Thread.CurrentThread != worker && !worker.Join(timeoutMs))
            {
                // The worker is still inside the backend (a server that does not answer):
                // leave the backend to it rather than free what it is using.
                Volatile.Write(ref lastError, "the worker did not stop within " + timeoutMs + " ms");
                return;
            }
            backend.Dispose();
        }

        public void Dispose()
        {
            Dispose(10000);
        }
    }
}
