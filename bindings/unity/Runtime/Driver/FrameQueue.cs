// A bounded hand-over from the capturing thread to one worker: the newest frame wins.
// Slots are allocated once; when the worker falls behind, the oldest waiting frame is
// dropped (SGAPS tolerates gaps in frame ids) rather than the game waiting or memory
// growing. Frames leave in the order they were published.
using System;
using System.Collections.Generic;
using System.Threading;

namespace Sgaps
{
    /// <summary>One frame on its way: what was sampled, where, and the state then.</summary>
    public sealed class FrameSlot
    {
        public ulong FrameId;
        public double Timestamp;
        /// <summary>The (u, v) pairs this frame is sampled at (shared, read-only).</summary>
        public float[] Coordinates;
        /// <summary>(u, v, value) triples, <see cref="PixelCount"/> of them.</summary>
        public readonly float[] Pixels;
        public int PixelCount;
        public readonly float[] State;
        public int StateCount;

        public FrameSlot(int maxPixels, int maxState)
        {
            Pixels = new float[3 * maxPixels];
            State = new float[maxState];
        }
    }

    public sealed class FrameQueue
    {
        private readonly object gate = new object();
        private readonly Stack<FrameSlot> free;
        private readonly LinkedList<FrameSlot> ready = new LinkedList<FrameSlot>();
        private readonly LinkedListNode<FrameSlot>[] nodes; // reused: a frame allocates nothing
        private readonly int capacity;
        private bool closed;

        /// <param name="capacity">Frames that may wait for the worker.</param>
        /// <param name="slots">Slots in all: capacity, plus those being captured and the worker's.</param>
        public FrameQueue(int capacity, int slots, int maxPixels, int maxState)
        {
            if (capacity < 1 || slots < capacity + 1)
            {
                throw new ArgumentException("a queue needs capacity >= 1 and at least capacity + 1 slots");
            }
            this.capacity = capacity;
            free = new Stack<FrameSlot>(slots);
            nodes = new LinkedListNode<FrameSlot>[slots];
            for (int i = 0; i < slots; i++)
            {
                FrameSlot slot = new FrameSlot(maxPixels, maxState);
                nodes[i] = new LinkedListNode<FrameSlot>(slot);
                free.Push(slot);
            }
        }

        /// <summary>Frames dropped because newer ones came while they waited.</summary>
        public long Dropped { get; private set; }

        public int Waiting { get { lock (gate) return ready.Count; } }

        /// <summary>A slot to fill: a free one, else the oldest waiting frame (dropped), else
        /// null (every slot is being captured or worked on; skip this frame).</summary>
        public FrameSlot Rent()
        {
            lock (gate)
            {
                if (closed) return null;
                if (free.Count > 0) return free.Pop();
                if (ready.Count > 0)
                {
                    LinkedListNode<FrameSlot> oldest = ready.First;
                    ready.RemoveFirst();
                    Dropped++;
                    return oldest.Value;
                }
                return null;
            }
        }

        /// <summary>Hands a filled slot to the worker; beyond capacity the oldest waiting goes.</summary>
        public void Publish(FrameSlot slot)
        {
            lock (gate)
            {
                if (closed)
                {
                    free.Push(slot);
                    return;
                }
                ready.AddLast(NodeOf(slot));
                while (ready.Count > capacity)
                {
                    LinkedListNode<FrameSlot> oldest = ready.First;
                    ready.RemoveFirst();
                    free.Push(oldest.Value);
                    Dropped++;
                }
                Monitor.Pulse(gate);
            }
        }

        /// <summary>Gives back a slot the worker is done with, or a capture that failed.</summary>
        public void Release(FrameSlot slot)
        {
            lock (gate) free.Push(slot);
        }

        /// <summary>The worker's next frame, oldest first; waits for one. Null once closed.</summary>
        public FrameSlot Take()
        {
            lock (gate)
            {
                while (!closed && ready.Count == 0) Monitor.Wait(gate);
                if (closed) return null;
                LinkedListNode<FrameSlot> first = ready.First;
                ready.RemoveFirst();
                return first.Value;
            }
        }

        /// <summary>Stops the queue: Take returns null, waiting frames are dropped.</summary>
        public void Close()
        {
            lock (gate)
            {
                closed = true;
                while (ready.Count > 0)
                {
                    free.Push(ready.First.Value);
                    ready.RemoveFirst();
                }
                Monitor.PulseAll(gate);
            }
        }

        private LinkedListNode<FrameSlot> NodeOf(FrameSlot slot)
        {
            foreach (LinkedListNode<FrameSlot> node in nodes)
            {
                if (node.Value == slot) return node;
            }
            throw new ArgumentException("the slot does not belong to this queue");
        }
    }
}
