// Where frames go: the engine linked into the game (EmbeddedBackend) or an SGAPS
// server over its WebSocket protocol (RemoteBackend). The driver calls Open once, then
// Submit from its one worker thread, frame after frame in order.
using System;

namespace Sgaps
{
    /// <summary>What a session runs with (PROTOCOL.md `session_start_ack`).</summary>
    public sealed class SessionInfo
    {
        public int SampleCount;
        public int MaxStateDim;
        public int TargetFps;
        /// <summary>The resolution SGAPS reconstructs at.</summary>
        public int Width;
        public int Height;
        public string CheckpointKey;
        public string ModelVersion;
        public bool CheckpointLoaded;
        /// <summary>(u, v) pairs to sample from frame 0 on.</summary>
        public float[] InitialCoordinates;
    }

    /// <summary>What became of one submitted frame.</summary>
    public struct FrameOutcome
    {
        public ulong FrameId;
        public bool Failed;
        /// <summary>Why it failed (Failed), else null.</summary>
        public string Error;
        /// <summary>New coordinates came with this frame, for frames from TargetFrameId on.</summary>
        public bool CoordinatesUpdated;
        public ulong TargetFrameId;
        /// <summary>A reconstruction was written (embedded mode).</summary>
        public bool Reconstructed;
        public double SamplePsnr;
        public double InferenceMs;
    }

    public interface IFrameBackend : IDisposable
    {
        /// <summary>Begins the session for frames of <paramref name="clientWidth"/> x
        /// <paramref name="clientHeight"/>. New coordinates, whenever they come, go to
        /// <paramref name="schedule"/> (built from the returned InitialCoordinates).</summary>
        SessionInfo Open(int clientWidth, int clientHeight, Func<SessionInfo, CoordinateSchedule> schedule);

        /// <summary>Sends one frame. Embedded mode reconstructs it into
        /// <paramref name="reconstruction"/> (Width * Height bytes, top row first) when
        /// that is not null. Throws on failure; the driver counts it and goes on.</summary>
        FrameOutcome Submit(FrameSlot frame, byte[] reconstruction);
    }
}
