using System;

namespace Sgaps
{
    /// <summary>A failed SGAPS call: the C status code and the library's message, which
    /// names what was wrong (e.g. "`pixels[3].value` is 300, must be in 0..=255").</summary>
    public sealed class SgapsException : Exception
    {
        public SgapsStatus Status { get; private set; }

        /// <summary>The frame this failure answers, when SgapsSession.Poll threw it; else null.</summary>
        public ulong? FrameId { get; private set; }

        public SgapsException(SgapsStatus status, string message, ulong? frameId = null)
            : base(status + ": " + message)
        {
            Status = status;
            FrameId = frameId;
        }
    }
}
