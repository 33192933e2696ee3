// Frames reconstructed in-process by libsgaps, through the P/Invoke wrapper.
using System;

namespace Sgaps
{
    public sealed class EmbeddedBackend : IFrameBackend
    {
        private readonly SgapsEngine engine;
        private readonly bool ownsEngine;
        private readonly string checkpointKey;
        private SgapsSession session;
        private CoordinateSchedule schedule;
        private float[] nextCoordinates;

        /// <summary>Opens its own engine: <paramref name="confDir"/> null for the built-in configuration.</summary>
        public EmbeddedBackend(string checkpointKey, string confDir, params string[] overrides)
            : this(new SgapsEngine(confDir, overrides), true, checkpointKey) { }

        /// <summary>Uses an engine shared with others (not disposed with this backend).</summary>
        public EmbeddedBackend(SgapsEngine engine, string checkpointKey) : this(engine, false, checkpointKey) { }

        private EmbeddedBackend(SgapsEngine engine, bool ownsEngine, string checkpointKey)
        {
            this.engine = engine;
            this.ownsEngine = ownsEngine;
            this.checkpointKey = checkpointKey;
        }

        public SgapsSession Session { get { return session; } }

        public SessionInfo Open(int clientWidth, int clientHeight, Func<SessionInfo, CoordinateSchedule> makeSchedule)
        {
            session = engine.BeginSession(checkpointKey, clientWidth, clientHeight);
            SessionParams p = session.Params;
            SessionInfo info = new SessionInfo
            {
                SampleCount = (int)p.SampleCount,
                MaxStateDim = (int)p.MaxStateDim,
                TargetFps = (int)p.TargetFps,
                Width = (int)p.Width,
                Height = (int)p.Height,
                CheckpointKey = p.CheckpointKey,
                ModelVersion = p.ModelVersion,
                CheckpointLoaded = p.CheckpointLoaded,
                InitialCoordinates = session.InitialCoordinates,
            };
            nextCoordinates = new float[session.CoordinatesLength];
            schedule = makeSchedule(info);
            return info;
        }

        public FrameOutcome Submit(FrameSlot frame, byte[] reconstruction)
        {
            FrameResult result = session.Submit(frame.FrameId, frame.Timestamp, frame.Pixels, frame.PixelCount,
                frame.State, frame.StateCount, reconstruction, null, nextCoordinates);
            if (result.CoordinatesUpdated)
            {
                // The schedule keeps the array it is given; the next update gets a fresh one.
                schedule.Post(result.TargetFrameId, nextCoordinates);
                nextCoordinates = new float[nextCoordinates.Length];
            }
            return new FrameOutcome
            {
                FrameId = result.FrameId,
                CoordinatesUpdated = result.CoordinatesUpdated,
                TargetFrameId = result.TargetFrameId,
                Reconstructed = reconstruction != null,
                SamplePsnr = result.SamplePsnr,
                InferenceMs = result.InferenceMs,
            };
        }

        public void Dispose()
        {
            if (session != null) session.Dispose();
            if (ownsEngine) engine.Dispose();
        }
    }
}
