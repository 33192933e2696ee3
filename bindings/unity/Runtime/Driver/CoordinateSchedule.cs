// The coordinates a frame is sampled at. SGAPS sends new ones with the frame they apply
// from (target_frame_id, PROTOCOL.md step 6); they come in on a worker or network
// thread while the game captures on its own. Each capture asks for the coordinates in
// effect at its frame id: updates whose target has come are applied in the order they
// were made; one that arrives after its target frame was captured (late) applies from
// the next capture on. Arrays handed out are never written again, so a capture may
// keep a reference instead of a copy.
using System;
using System.Collections.Generic;

namespace Sgaps
{
    public sealed class CoordinateSchedule
    {
        private struct Update
        {
            public ulong Target;
            public float[] Coordinates;
        }

        private readonly object gate = new object();
        private readonly Queue<Update> pending = new Queue<Update>();
        private float[] current;
        private ulong currentFrom;
        private ulong lastAsked;
        private bool asked;

        public CoordinateSchedule(float[] initial)
        {
            if (initial == null || initial.Length == 0 || initial.Length % 2 != 0)
            {
                throw new ArgumentException("initial coordinates must be (u, v) pairs", "initial");
            }
            current = initial;
        }

        /// <summary>(u, v) pairs per set.</summary>
        public int Count { get { return current.Length / 2; } }

        /// <summary>Updates applied so far, and how many of them after their target frame.</summary>
        public long Applied { get; private set; }
        public long AppliedLate { get; private set; }

        /// <summary>The frame the coordinates in effect apply from (0 for the initial ones).</summary>
        public ulong CurrentFrom { get { lock (gate) return currentFrom; } }

        /// <summary>Queues coordinates for frames from <paramref name="targetFrameId"/> on.
        /// Any thread. The array is kept, not copied: do not write it afterwards.</summary>
        public void Post(ulong targetFrameId, float[] coordinates)
        {
            if (coordinates == null || coordinates.Length != current.Length)
            {
                throw new ArgumentException("an update must hold " + Count + " (u, v) pairs", "coordinates");
            }
            lock (gate)
            {
                pending.Enqueue(new Update { Target = targetFrameId, Coordinates = coordinates });
            }
        }

        /// <summary>
        /// The coordinates to sample frame <paramref name="frameId"/> at. Frame ids must not
        /// go backwards between calls. Allocates nothing.
        /// </summary>
        public float[] For(ulong frameId)
        {
            lock (gate)
            {
                if (asked && frameId < lastAsked)
                {
                    throw new ArgumentException("frame " + frameId + " after frame " + lastAsked, "frameId");
                }
                while (pending.Count > 0 && pending.Peek().Target <= frameId)
                {
                    Update update = pending.Dequeue();
                    // Late: a frame at or after its target was captured before it arrived.
                    if (asked && lastAsked >= update.Target) AppliedLate++;
                    Applied++;
                    current = update.Coordinates;
                    currentFrom = Math.Max(update.Target, frameId);
                }
                asked = true;
                lastAsked = frameId;
                return current;
            }
        }
    }
}
