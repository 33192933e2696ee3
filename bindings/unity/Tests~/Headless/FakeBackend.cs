// A scripted backend for the driver tests: records every frame it gets, can hold the
// worker inside Submit until released, and posts coordinate updates when told.
using System;
using System.Collections.Generic;
using System.Threading;
using Sgaps;

public sealed class FakeBackend : IFrameBackend
{
    public sealed class Seen
    {
        public ulong FrameId;
        public float[] Pixels;
        public float[] State;
    }

    public readonly SessionInfo Info;
    public readonly List<Seen> Frames = new List<Seen>();
    public readonly ManualResetEventSlim Gate = new ManualResetEventSlim(true);
    public readonly ManualResetEventSlim Entered = new ManualResetEventSlim(false);
    /// <summary>Coordinates to post when a frame is submitted: frame id -> (target, set).</summary>
    public readonly Dictionary<ulong, KeyValuePair<ulong, float[]>> Updates = new Dictionary<ulong, KeyValuePair<ulong, float[]>>();
    public volatile bool InSubmit, Disposed, DisposedDuringSubmit;
    public bool Record = true;
    private CoordinateSchedule schedule;

    public FakeBackend(float[] initial, int maxState, int width = 4, int height = 3)
    {
        Info = new SessionInfo
        {
            SampleCount = initial.Length / 2, MaxStateDim = maxState, TargetFps = 10, Width = width, Height = height,
            CheckpointKey = "fake", ModelVersion = "fake", InitialCoordinates = initial,
        };
    }

    public SessionInfo Open(int clientWidth, int clientHeight, Func<SessionInfo, CoordinateSchedule> make)
    {
        schedule = make(Info);
        return Info;
    }

    public FrameOutcome Submit(FrameSlot frame, byte[] reconstruction)
    {
        InSubmit = true;
        Entered.Set();
        Gate.Wait();
        if (Record)
        {
            lock (Frames)
            {
                Frames.Add(new Seen
                {
                    FrameId = frame.FrameId,
                    Pixels = Slice(frame.Pixels, 3 * frame.PixelCount),
                    State = Slice(frame.State, frame.StateCount),
                });
            }
        }
        KeyValuePair<ulong, float[]> update;
        bool updated = Updates.TryGetValue(frame.FrameId, out update);
        if (updated) schedule.Post(update.Key, update.Value);
        if (reconstruction != null)
        {
            // Row y (top first) holds y: the tests check the copy's orientation.
            for (int i = 0; i < reconstruction.Length; i++) reconstruction[i] = (byte)(i / Info.Width);
        }
        InSubmit = false;
        return new FrameOutcome
        {
            FrameId = frame.FrameId, CoordinatesUpdated = updated, TargetFrameId = updated ? update.Key : 0,
            Reconstructed = reconstruction != null,
        };
    }

    public void Dispose()
    {
        if (InSubmit) DisposedDuringSubmit = true;
        Disposed = true;
    }

    private static float[] Slice(float[] values, int count)
    {
        float[] copy = new float[count];
        Array.Copy(values, copy, count);
        return copy;
    }
}
