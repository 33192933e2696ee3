// Headless tests of the Unity package under Mono, against the real libsgaps.so: struct
// layouts against the C header, the sampler's orientation and its parity with the core,
// the coordinate schedule, the driver's queue and threading, SgapsRecorder itself on the
// Unity stub, and (with --server) remote mode against a real `sgaps serve`.
//
//   mono RecorderTests.exe --layout LAYOUT_TXT --checkpoints DIR [--server ws://HOST:PORT/ws/stream]
using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Threading;
using Sgaps;
using UnityEngine;
using static Harness;

public static class RecorderTests
{
    private static string checkpoints;

    private static SgapsEngine SmallEngine(params string[] extra)
    {
        // The untrained small model at 32x24 with 100 samples: fast on a CPU.
        var overrides = new List<string> { "model=spt_small", "model.resolution=[32,24]", "sampling.default_sample_count=100",
            "mask_update=fixed", "device=cpu", "checkpoint_dir=" + checkpoints };
        overrides.AddRange(extra);
        return new SgapsEngine(null, overrides.ToArray());
    }

    public static int Main(string[] args)
    {
        string layout = Arg(args, "--layout"), server = Arg(args, "--server");
        checkpoints = Arg(args, "--checkpoints");
        if (layout == null || checkpoints == null)
        {
            Console.Error.WriteLine("usage: mono RecorderTests.exe --layout LAYOUT_TXT --checkpoints DIR [--server URL]");
            return 2;
        }
        Run("struct layouts match include/sgaps.h (Marshal.SizeOf/OffsetOf vs sizeof/offsetof)", () => Layouts(layout));
        Run("sampling rule: floor(u*W), floor(v*H), clamped, NaN and negatives to 0", SamplingRule);
        Run("orientation: v = 0 is the top row in top-down and bottom-up (Unity) buffers, grey and RGBA", Orientation);
        Run("sampling parity with the core: C# sampling of the reconstruction reproduces libsgaps' sample_psnr", CoreParity);
        Run("coordinate schedule: applied at target_frame_id, late ones at the next capture, in order", Schedule);
        Run("driver: frames keep the coordinates and state of their capture across in-flight readbacks", InFlightCaptures);
        Run("driver: bounded queue, newest frame wins, results in frame order", NewestWinsInOrder);
        Run("driver: dispose while the worker is inside Submit waits for it, then drops late captures", DisposeInFlight);
        Run("driver: capturing, sampling and queueing allocate nothing per frame", NoAllocations);
        Run("driver: the latest reconstruction is copied upright for Unity (bottom-up rows)", ReconstructionRows);
        Run("embedded: real libsgaps, 40 frames, updates applied at their target frame", () => Embedded(40));
        Run("embedded: dispose with frames in flight against the real engine", EmbeddedDisposeInFlight);
        Run("SgapsRecorder on the Unity stub: screen capture, readback, sampling, reconstruction texture", () => Recorder(false));
        Run("SgapsRecorder on the Unity stub where UVs start at the top (Direct3D, Metal, Vulkan)", () => Recorder(true));
        if (server != null) Run("remote: RemoteBackend against sgaps serve (" + server + ")", () => Remote(server));
        else Console.WriteLine("skip: remote mode (no --server)");
        return Finish("Unity package headless tests");
    }

    private static string Arg(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    // ----------------------------------------------------------------------------------
    // Layouts: every struct the C# binding declares, field by field, in header order.

    private static void Layouts(string path)
    {
        var types = new Dictionary<string, Type>
        {
            { "SgapsEngineOptions", typeof(EngineOptions) }, { "SgapsEngineInfo", typeof(EngineInfo) },
            { "SgapsSessionParams", typeof(SessionParams) }, { "SgapsBufferSizes", typeof(BufferSizes) },
            { "SgapsSessionStats", typeof(SessionStats) }, { "SgapsFrame", typeof(Frame) },
            { "SgapsFrameBuffers", typeof(FrameBuffers) }, { "SgapsFrameResult", typeof(FrameResult) },
        };
        // Not declared in C#: the binding does not wrap sgaps_engine_submit_batch.
        var unbound = new HashSet<string> { "SgapsBatchItem" };
        var sizes = new Dictionary<string, int>();
        var fields = new Dictionary<string, List<string[]>>();
        foreach (string line in File.ReadAllLines(path))
        {
            string[] parts = line.Split(' ');
            int dot = parts[0].IndexOf('.');
            if (dot < 0)
            {
                sizes[parts[0]] = int.Parse(parts[1]);
                fields[parts[0]] = new List<string[]>();
            }
            else
            {
                fields[parts[0].Substring(0, dot)].Add(new[] { parts[0].Substring(dot + 1), parts[1], parts[2] });
            }
        }
        Check(sizes.Count >= types.Count, "the layout file lists " + sizes.Count + " structs");
        int checkedFields = 0;
        foreach (var pair in sizes)
        {
            if (unbound.Contains(pair.Key)) continue;
            Check(types.ContainsKey(pair.Key), pair.Key + " is in sgaps.h but not checked here: declare it in C# and add it");
            Type type = types[pair.Key];
            Equal(pair.Value, Marshal.SizeOf(type), "sizeof(" + pair.Key + ")");
            FieldInfo[] declared = type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)
                .OrderBy(f => f.MetadataToken).ToArray();
            List<string[]> c = fields[pair.Key];
            Equal(c.Count, declared.Length, pair.Key + " field count");
            for (int i = 0; i < c.Count; i++)
            {
                string name = c[i][0], pascal = Pascal(name);
                FieldInfo f = declared[i];
                Check(f.Name == pascal || f.Name == pascal + "Utf8" || f.Name == pascal + "Byte",
                    pair.Key + " field " + i + " is " + name + " in C but " + f.Name + " in C#");
                Equal(int.Parse(c[i][1]), (int)Marshal.OffsetOf(type, f.Name), "offsetof(" + pair.Key + ", " + name + ")");
                Equal(int.Parse(c[i][2]), MarshalSize(f), "sizeof(" + pair.Key + "." + name + ")");
                checkedFields++;
            }
        }
        Check(checkedFields > 50, "checked " + checkedFields + " fields");
    }

    private static string Pascal(string snake)
    {
        return string.Concat(snake.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w.Substring(1)));
    }

    private static int MarshalSize(FieldInfo f)
    {
        var marshalAs = f.GetCustomAttribute<MarshalAsAttribute>();
        if (marshalAs != null && marshalAs.Value == UnmanagedType.ByValArray)
        {
            return marshalAs.SizeConst * Marshal.SizeOf(f.FieldType.GetElementType());
        }
        return f.FieldType.IsEnum ? Marshal.SizeOf(Enum.GetUnderlyingType(f.FieldType)) : Marshal.SizeOf(f.FieldType);
    }

    // ----------------------------------------------------------------------------------
    // Sampling and orientation.

    private static void SamplingRule()
    {
        Equal(0, FrameSampler.Index(0f, 10), "u = 0");
        Equal(9, FrameSampler.Index(1f, 10), "u = 1 is clamped to the last column");
        Equal(9, FrameSampler.Index(0.95f, 10), "u = 0.95");
        Equal(5, FrameSampler.Index(0.5f, 10), "u = 0.5");
        Equal(0, FrameSampler.Index(-0.2f, 10), "negative u");
        Equal(0, FrameSampler.Index(float.NaN, 10), "NaN");
        Equal(9, FrameSampler.Index(7f, 10), "u > 1");
        // Single precision like the core: 0.7f * 10f rounds to exactly 7 in f32, but the
        // double product (6.99999988...) would floor to 6.
        Equal(7, FrameSampler.Index(0.7f, 10), "u = 0.7f, computed in f32");
        Check(Math.Floor((double)0.7f * 10) == 6, "the double product differs (sanity of the case above)");
        Equal(1, FrameSampler.Row(0.99f, 2, RowOrder.TopDown) , "bottom SGAPS row, top-down buffer");
        Equal(0, FrameSampler.Row(0.99f, 2, RowOrder.BottomUp), "bottom SGAPS row is row 0 of a bottom-up buffer");
        Equal(76, FrameSampler.Luma(255, 0, 0), "BT.601 red");
        for (int g = 0; g < 256; g++) Equal(g, FrameSampler.Luma(g, g, g), "a grey stays itself");
    }

    private static void Orientation()
    {
        // 5x4 picture, grey(x, yTop) = 40 * yTop + x: rows told apart by value.
        Func<int, int, int> grey = (x, y) => 40 * y + x;
        float[] coordinates = { 0f, 0f, 0.99f, 0f, 0f, 0.99f, 0.5f, 0.5f, 0.3f, 0.74f };
        int[] expected = { 0, 4, 120, 82, 81 }; // (0,0) (4,0) (0,3) (2,2) (1,2)
        foreach (RowOrder rows in new[] { RowOrder.TopDown, RowOrder.BottomUp })
        {
            foreach (int channels in new[] { 1, 3, 4 })
            {
                using (var frame = new Synthetic(5, 4, channels, rows, grey))
                {
                    float[] pixels = new float[15];
                    FrameSampler.Sample(frame.View, coordinates, 5, pixels);
                    for (int i = 0; i < 5; i++)
                    {
                        Equal(coordinates[2 * i], pixels[3 * i], "u echoed");
                        Equal(coordinates[2 * i + 1], pixels[3 * i + 1], "v echoed");
                        Equal((float)expected[i], pixels[3 * i + 2], rows + " " + channels + "-byte sample " + i);
                    }
                }
            }
        }
        using (var frame = new Synthetic(5, 4, 1, RowOrder.TopDown, grey))
        {
            FrameView shortView = frame.View;
            shortView.Length = 10;
            Throws<ArgumentException>(() => FrameSampler.Sample(shortView, coordinates, 5, new float[15]), "a short buffer");
        }
    }

    // The core scores each frame by sampling its own reconstruction at the frame's pixels
    // with Pixel::sample's rule (sgaps-core session.rs `sample_psnr`). Sampling the
    // reconstruction it returns with FrameSampler must give the very same PSNR; a rule
    // off by a row (flipped v) or rounding instead of flooring must not.
    private static void CoreParity()
    {
        using (SgapsEngine engine = SmallEngine())
        using (SgapsSession session = engine.BeginSession("parity", 320, 240))
        {
            int w = (int)session.Params.Width, h = (int)session.Params.Height, n = (int)engine.Info.SampleCount;
            byte[] reconstruction = new byte[w * h];
            byte[] bottomUp = new byte[w * h];
            var random = new System.Random(7);
            int sensitiveFlip = 0, sensitiveRound = 0;
            for (int t = 0; t < 12; t++)
            {
                // Coordinates on pixel edges (k / W in f32, and one ulp either side), where
                // floor in f32 and anything else part ways, and random ones.
                float[] pixels = new float[3 * n];
                for (int i = 0; i < n; i++)
                {
                    pixels[3 * i] = Edge(random, w, i);
                    pixels[3 * i + 1] = Edge(random, h, i + t);
                    pixels[3 * i + 2] = random.Next(256);
                }
                FrameResult result = session.Submit((ulong)t, t * 0.1, pixels, null, reconstruction, null, null);
                // What Unity holds: the same image with row 0 at the bottom.
                FrameSampler.CopyRows(reconstruction, w, h, bottomUp, RowOrder.BottomUp);
                GCHandle pin = GCHandle.Alloc(bottomUp, GCHandleType.Pinned);
                float[] resampled = new float[3 * n];
                try
                {
                    var view = new FrameView(pin.AddrOfPinnedObject(), bottomUp.Length, w, h, 1, RowOrder.BottomUp);
                    FrameSampler.Sample(view, Coordinates(pixels), n, resampled);
                }
                finally
                {
                    pin.Free();
                }
                double ours = Psnr(pixels, i => resampled[3 * i + 2], n);
                Check(Math.Abs(ours - result.SamplePsnr) < 1e-9,
                    "frame " + t + ": C# sampling gives " + ours + " dB, libsgaps " + result.SamplePsnr + " dB");
                double flipped = Psnr(pixels, i => reconstruction[(h - 1 - FrameSampler.Index(pixels[3 * i + 1], h)) * w +
                    FrameSampler.Index(pixels[3 * i], w)], n);
                double rounded = Psnr(pixels, i => reconstruction[Math.Min(h - 1, (int)Math.Round(pixels[3 * i + 1] * h)) * w +
                    Math.Min(w - 1, (int)Math.Round(pixels[3 * i] * w))], n);
                if (Math.Abs(flipped - result.SamplePsnr) > 1e-6) sensitiveFlip++;
                if (Math.Abs(rounded - result.SamplePsnr) > 1e-6) sensitiveRound++;
            }
            Check(sensitiveFlip > 0 && sensitiveRound > 0, "the check cannot tell a flipped or rounding rule apart (" +
                sensitiveFlip + ", " + sensitiveRound + " frames)");
        }
    }

    private static float Edge(System.Random random, int size, int i)
    {
        int k = random.Next(size + 1);
        float edge = (float)k / size;
        switch (i % 4)
        {
            case 0: return edge;
            case 1: return Math.Max(0f, Math.Min(1f, NextAfter(edge, -1)));
            case 2: return Math.Min(1f, NextAfter(edge, 1));
            default: return (float)random.NextDouble();
        }
    }

    private static float NextAfter(float x, int direction)
    {
        int bits = BitConverter.ToInt32(BitConverter.GetBytes(x), 0);
        bits += x == 0f ? (direction > 0 ? 1 : 0) : direction;
        return BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
    }

    private static float[] Coordinates(float[] pixels)
    {
        float[] uv = new float[pixels.Length / 3 * 2];
        for (int i = 0; i < uv.Length / 2; i++)
        {
            uv[2 * i] = pixels[3 * i];
            uv[2 * i + 1] = pixels[3 * i + 1];
        }
        return uv;
    }

    // PSNR as the core computes it: f64 squared errors summed in order, capped at 100 dB.
    private static double Psnr(float[] pixels, Func<int, double> predicted, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            double d = (double)pixels[3 * i + 2] - predicted(i);
            sum += d * d;
        }
        double mse = sum / n;
        return mse == 0 ? 100.0 : Math.Min(100.0, 10 * Math.Log10(255.0 * 255.0 / mse));
    }

    // ----------------------------------------------------------------------------------
    // Coordinate schedule and driver.

    private static float[] Set(float value, int pairs = 2)
    {
        return Enumerable.Repeat(value, 2 * pairs).ToArray();
    }

    private static void Schedule()
    {
        float[] a = Set(0.1f), b = Set(0.2f), c = Set(0.3f), d = Set(0.4f), e = Set(0.5f);
        var schedule = new CoordinateSchedule(a);
        schedule.Post(5, b);
        for (ulong f = 0; f < 5; f++) Check(schedule.For(f) == a, "frame " + f + " before the target keeps the old set");
        Check(schedule.For(5) == b, "frame 5 uses the set whose target is 5");
        Equal(0L, schedule.AppliedLate, "on time");
        schedule.Post(3, c); // made for frame 3, arrives after frame 5 was captured: late
        Check(schedule.For(6) == c, "the late set applies from the next capture");
        Check(schedule.For(7) == c, "and stays");
        Equal(1L, schedule.AppliedLate, "late updates");
        Equal(6UL, schedule.CurrentFrom, "applied from frame 6");
        schedule.Post(10, d);
        schedule.Post(12, e);
        Check(schedule.For(11) == d, "frame 11: the first of two queued sets");
        Check(schedule.For(15) == e, "frame 15: the second");
        Equal(4L, schedule.Applied, "applied");
        Throws<ArgumentException>(() => schedule.For(14), "frame ids going backwards");
        Throws<ArgumentException>(() => schedule.Post(20, Set(0.6f, 3)), "a set of another size");
    }

    private static void InFlightCaptures()
    {
        float[] initial = { 0f, 0f, 0.99f, 0.99f }; // top-left, bottom-right
        float[] next = { 0.99f, 0f, 0f, 0.99f };    // top-right, bottom-left
        var backend = new FakeBackend(initial, maxState: 3);
        backend.Updates[0] = new KeyValuePair<ulong, float[]>(1, next); // frame 0's result: new set from frame 1
        using (var frame = new Synthetic(4, 4, 4, RowOrder.BottomUp, (x, y) => 10 * y + x))
        using (var driver = new RecorderDriver(backend, 4, 4, queueCapacity: 4, maxInFlight: 4))
        {
            var used = new Dictionary<ulong, float[]>();
            driver.FrameSampled += slot => used[slot.FrameId] = slot.Coordinates;
            driver.SetState(new float[] { 1f, 2f }, 2);
            FrameSlot f0 = driver.BeginCapture(0.0);
            driver.SetState(2, 9f);                       // state grows to 3 values for later frames
            FrameSlot f1 = driver.BeginCapture(0.1);      // readback of 0 still in flight
            driver.CompleteCapture(f0, frame.View);       // frame 0 reaches the worker; update for 1 comes back
            WaitUntil(() => driver.FramesSubmitted == 1, "frame 0");
            FrameSlot f2 = driver.BeginCapture(0.2);      // after the update: new set (1 was late)
            driver.CompleteCapture(f1, frame.View);
            driver.CompleteCapture(f2, frame.View);
            WaitUntil(() => driver.FramesSubmitted == 3, "frames 1 and 2");
            Check(used[0] == initial && used[1] == initial, "frames 0 and 1 were begun before the update");
            Check(used[2] == next, "frame 2 uses the update targeted at frame 1");
            Equal(1L, driver.Schedule.AppliedLate, "the update came after frame 1 was begun");
            lock (backend.Frames)
            {
                CollectionAssertEqual(new float[] { 0f, 0f, 0f, 0.99f, 0.99f, 33f }, backend.Frames[0].Pixels, "frame 0 pixels");
                CollectionAssertEqual(new float[] { 0.99f, 0f, 3f, 0f, 0.99f, 30f }, backend.Frames[2].Pixels, "frame 2 pixels");
                CollectionAssertEqual(new float[] { 1f, 2f }, backend.Frames[0].State, "frame 0 state");
                CollectionAssertEqual(new float[] { 1f, 2f, 9f }, backend.Frames[1].State, "frame 1 state");
            }
            Throws<ArgumentException>(() => driver.SetState(new float[4], 4), "more state than max_state_dim");
        }
        Check(backend.Disposed, "the driver disposes its backend");
    }

    private static void CollectionAssertEqual(float[] expected, float[] actual, string what)
    {
        Check(expected.SequenceEqual(actual), what + ": expected [" + string.Join(", ", expected) + "], got [" +
            string.Join(", ", actual) + "]");
    }

    private static void NewestWinsInOrder()
    {
        var backend = new FakeBackend(Set(0.5f), maxState: 0);
        backend.Gate.Reset();
        using (var frame = new Synthetic(4, 4, 4, RowOrder.BottomUp, (x, y) => 7))
        using (var driver = new RecorderDriver(backend, 4, 4, queueCapacity: 2, maxInFlight: 1))
        {
            var done = new List<ulong>();
            driver.FrameDone += outcome => { lock (done) done.Add(outcome.FrameId); };
            for (int i = 0; i < 10; i++)
            {
                FrameSlot slot = driver.BeginCapture(i);
                Check(slot != null, "a slot for frame " + i);
                driver.CompleteCapture(slot, frame.View);
                if (i == 0) backend.Entered.Wait(); // the worker holds frame 0; the rest queue up
            }
            backend.Gate.Set();
            WaitUntil(() => { lock (done) return done.Count == 3; }, "frames 0, 8 and 9");
            Thread.Sleep(50);
            lock (done)
            {
                CollectionAssertEqual(new float[] { 0, 8, 9 }, done.Select(id => (float)id).ToArray(),
                    "frame 0 (taken at once), then the two newest");
            }
            Equal(7L, driver.FramesDropped, "dropped for newer frames");
            Equal(10L, driver.FramesCaptured, "captured");
        }
    }

    private static void DisposeInFlight()
    {
        var backend = new FakeBackend(Set(0.5f), maxState: 0);
        backend.Gate.Reset();
        using (var frame = new Synthetic(4, 4, 4, RowOrder.BottomUp, (x, y) => 7))
        {
            var driver = new RecorderDriver(backend, 4, 4, queueCapacity: 2, maxInFlight: 2);
            FrameSlot first = driver.BeginCapture(0);
            FrameSlot pending = driver.BeginCapture(0.1);  // a readback still in flight at Dispose
            driver.CompleteCapture(first, frame.View);
            backend.Entered.Wait();                        // the worker is inside Submit
            var disposing = new Thread(() => driver.Dispose());
            disposing.Start();
            Check(!disposing.Join(200), "Dispose returned while Submit was running");
            Check(!backend.Disposed, "the backend was closed under the worker");
            backend.Gate.Set();
            Check(disposing.Join(10000), "Dispose did not return after Submit finished");
            Check(backend.Disposed && !backend.DisposedDuringSubmit, "the backend was closed after Submit");
            driver.CompleteCapture(pending, frame.View);   // the late readback: dropped quietly
            Check(driver.BeginCapture(0.2) == null, "no captures after Dispose");
            Equal(1, backend.Frames.Count, "frames submitted");
            driver.Dispose();                              // twice is fine
        }
    }

    private static void NoAllocations()
    {
        var backend = new FakeBackend(Set(0.25f, 200), maxState: 8) { Record = false };
        using (var frame = new Synthetic(64, 48, 4, RowOrder.BottomUp, (x, y) => x + y))
        using (var driver = new RecorderDriver(backend, 64, 48, queueCapacity: 2, maxInFlight: 2))
        {
            float[] state = { 1f, 2f, 3f };
            Action oneFrame = () =>
            {
                driver.SetState(state, 3);
                FrameSlot slot = driver.BeginCapture(1.0);
                if (slot != null) driver.CompleteCapture(slot, frame.View);
            };
            for (int i = 0; i < 50; i++) oneFrame(); // warm up: JIT, first use of every slot
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 500; i++) oneFrame();
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Equal(0L, allocated, "bytes allocated on the capturing thread over 500 frames");
        }
    }

    private static void ReconstructionRows()
    {
        var backend = new FakeBackend(Set(0.5f), maxState: 0, width: 4, height: 3);
        using (var frame = new Synthetic(4, 4, 4, RowOrder.BottomUp, (x, y) => 7))
        using (var driver = new RecorderDriver(backend, 4, 4, reconstruct: true))
        {
            byte[] texture = new byte[12];
            ulong id;
            Check(!driver.CopyLatestReconstruction(texture, RowOrder.BottomUp, out id), "nothing before a frame");
            FrameSlot slot = driver.BeginCapture(0);
            driver.CompleteCapture(slot, frame.View);
            WaitUntil(() => driver.FramesSubmitted == 1, "the frame");
            Check(driver.CopyLatestReconstruction(texture, RowOrder.BottomUp, out id), "a reconstruction");
            CollectionAssertEqual(new float[] { 2, 2, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0 }, texture.Select(b => (float)b).ToArray(),
                "row 0 of the texture is the bottom row of the image");
            Check(!driver.CopyLatestReconstruction(texture, RowOrder.BottomUp, out id), "copied once");
        }
    }

    // ----------------------------------------------------------------------------------
    // The real engine behind the driver.

    private static void Embedded(int frames)
    {
        using (var frame = new Synthetic(64, 48, 4, RowOrder.BottomUp, (x, y) => (x / 8 + y / 8) % 2 == 0 ? 220 : 30))
        {
            var backend = new EmbeddedBackend(SmallEngine(), "game");
            var outcomes = new List<FrameOutcome>();
            var used = new Dictionary<ulong, float[]>();
            using (var driver = new RecorderDriver(backend, 64, 48, queueCapacity: 2, maxInFlight: 2, reconstruct: true))
            {
                Equal(100, driver.Session.SampleCount, "sample count");
                Equal(200, driver.Session.InitialCoordinates.Length, "initial coordinates");
                driver.FrameDone += outcome => { lock (outcomes) outcomes.Add(outcome); };
                driver.FrameSampled += slot => used[slot.FrameId] = slot.Coordinates;
                // One readback in flight, as in a game: frame t is begun before frame t - 1's
                // pixels arrive, so an update made from frame t - 1 (target t) comes late and
                // applies from t + 1. Each frame is let through before the next, so the
                // session sees every one (mask renewed at its 10th, 20th, ... frame).
                FrameSlot previous = null;
                for (int t = 0; t <= frames; t++)
                {
                    driver.SetState(new float[] { t, 1f }, 2);
                    FrameSlot slot = t < frames ? driver.BeginCapture(t / 10.0) : null;
                    if (previous != null) driver.CompleteCapture(previous, frame.View);
                    previous = slot;
                    WaitUntil(() => { lock (outcomes) return outcomes.Count == driver.FramesCaptured; }, "frame " + t);
                }
                Equal((long)frames, driver.FramesSubmitted, "frames submitted");
                Check(driver.Schedule.Applied >= 3 && driver.Schedule.AppliedLate == driver.Schedule.Applied,
                    "updates applied " + driver.Schedule.Applied + ", late " + driver.Schedule.AppliedLate);
                Equal(0L, driver.FramesFailed, "failed frames (" + driver.LastError + ")");
                byte[] reconstruction = new byte[driver.Session.Width * driver.Session.Height];
                ulong id;
                Check(driver.CopyLatestReconstruction(reconstruction, RowOrder.BottomUp, out id), "a reconstruction");
                lock (outcomes)
                {
                    for (int i = 1; i < outcomes.Count; i++)
                    {
                        Check(outcomes[i].FrameId > outcomes[i - 1].FrameId, "results in frame order");
                    }
                    Equal(outcomes[outcomes.Count - 1].FrameId, id, "the latest reconstruction is the last frame's");
                    var updates = outcomes.Where(o => o.CoordinatesUpdated).ToList();
                    Check(updates.Count >= 1, "mask_update=fixed renews the mask every 10 frames");
                    foreach (FrameOutcome update in updates) Equal(update.FrameId + 1, update.TargetFrameId, "target_frame_id");
                    // The k-th new set of coordinates in use is the k-th update's, first used
                    // at or after its target frame, never before.
                    var firstUse = new List<KeyValuePair<ulong, float[]>>();
                    foreach (var pair in used.OrderBy(p => p.Key))
                    {
                        if (firstUse.Count == 0 || firstUse[firstUse.Count - 1].Value != pair.Value)
                        {
                            Check(!firstUse.Any(f => f.Value == pair.Value), "a set came back after it was replaced");
                            firstUse.Add(pair);
                        }
                    }
                    Check(firstUse[0].Value == driver.Session.InitialCoordinates, "frame 0 uses the initial set");
                    Check(firstUse.Count >= 2, "an update was used");
                    for (int k = 1; k < firstUse.Count; k++)
                    {
                        Check(firstUse[k].Key >= updates[k - 1].TargetFrameId, "update " + k + " (target " +
                            updates[k - 1].TargetFrameId + ") used from frame " + firstUse[k].Key);
                    }
                }
            }
        }
    }

    private static void EmbeddedDisposeInFlight()
    {
        using (var frame = new Synthetic(64, 48, 4, RowOrder.BottomUp, (x, y) => x * 3))
        {
            for (int round = 0; round < 3; round++)
            {
                var driver = new RecorderDriver(new EmbeddedBackend(SmallEngine(), "game"), 64, 48, 2, 2, reconstruct: true);
                FrameSlot late = driver.BeginCapture(0);
                for (int t = 1; t < 6; t++)
                {
                    FrameSlot slot = driver.BeginCapture(t);
                    if (slot != null) driver.CompleteCapture(slot, frame.View);
                }
                driver.Dispose(); // frames waiting and one being reconstructed
                driver.CompleteCapture(late, frame.View);
                Check(driver.IsDisposed && driver.LastError == null, "clean dispose: " + driver.LastError);
            }
        }
    }

    // ----------------------------------------------------------------------------------
    // SgapsRecorder itself, with the stub playing Unity.

    private static void Recorder(bool uvStartsAtTop)
    {
        StubPlayer.UVStartsAtTop = uvStartsAtTop;
        StubPlayer.Time = 0f;
        // A screen whose rows differ: grey(x, yTop) = 4 * yTop + x / 16, top row darkest.
        StubPlayer.Paint(64, 48, (x, y) => (byte)(4 * y + x / 16));
        var host = new GameObjectStub();
        SgapsRecorder recorder = host.Recorder;
        recorder.overrides = new[] { "model=spt_small", "model.resolution=[32,24]", "sampling.default_sample_count=100",
            "mask_update=fixed", "device=cpu", "checkpoint_dir=" + checkpoints };
        recorder.captureWidth = 64;
        recorder.captureHeight = 0;
        recorder.captureFps = 10f;
        recorder.liveReconstruction = true;
        StubPlayer.Enable(recorder);
        Check(recorder.Driver != null, "the session started: " + string.Join("; ", StubPlayer.Logs));
        RecorderDriver driver = recorder.Driver;
        int wrong = 0, sampled = 0;
        driver.FrameSampled += slot =>
        {
            for (int i = 0; i < slot.PixelCount; i++)
            {
                int x = FrameSampler.Index(slot.Pixels[3 * i], 64), y = FrameSampler.Index(slot.Pixels[3 * i + 1], 48);
                if (slot.Pixels[3 * i + 2] != 4 * y + x / 16) wrong++;
                sampled++;
            }
        };
        recorder.SetState(new float[] { 0.5f, 0.25f });
        for (int frame = 0; frame < 30; frame++)
        {
            StubPlayer.Time += 1f / 30f;     // the game runs at 30 fps, the recorder captures at 10
            StubPlayer.EndOfFrame(recorder);
            if (StubPlayer.PendingReadbacks > 1) StubPlayer.CompleteReadbacks(1); // a frame of readback latency
            recorder.SetState(0, frame);
        }
        StubPlayer.CompleteReadbacks(int.MaxValue);
        WaitUntil(() => driver.FramesSubmitted + driver.FramesDropped >= driver.FramesCaptured, "the worker");
        StubPlayer.EndOfFrame(recorder);     // uploads the newest reconstruction
        Check(driver.FramesCaptured >= 9 && driver.FramesCaptured <= 11, "about 10 captures in 1 s at 10 fps, got " + driver.FramesCaptured);
        Equal(0, wrong, "samples that differ from the screen at (floor(u*W), floor(v*H)) of " + sampled);
        Check(sampled > 0, "samples checked");
        Equal(0L, driver.FramesFailed, "failed frames (" + driver.LastError + ")");
        Texture2D texture = recorder.Reconstruction;
        Check(texture != null && texture.width == 32 && texture.height == 24, "a 32x24 reconstruction texture");
        Check(StubPlayer.TextureApplies > 0, "the texture was updated");
        // One readback in flight when the component is disabled: completed and dropped.
        StubPlayer.Time += 1f;
        StubPlayer.EndOfFrame(recorder);
        Equal(1, StubPlayer.PendingReadbacks, "a readback in flight");
        StubPlayer.Disable(recorder);
        Equal(0, StubPlayer.PendingReadbacks, "readbacks completed on disable");
        Check(driver.IsDisposed && recorder.Driver == null, "the driver is disposed");
        Check(!StubPlayer.Logs.Any(l => l.StartsWith("error")), "errors logged: " + string.Join("; ", StubPlayer.Logs));
    }

    private sealed class GameObjectStub
    {
        public readonly SgapsRecorder Recorder = new SgapsRecorder();
    }

    // ----------------------------------------------------------------------------------
    // Remote mode against a real server.

    private static void Remote(string url)
    {
        using (var frame = new Synthetic(64, 48, 4, RowOrder.BottomUp, (x, y) => (x + 2 * y) % 256))
        {
            var backend = new RemoteBackend(url, "default");
            var used = new Dictionary<ulong, float[]>();
            using (var driver = new RecorderDriver(backend, 64, 48, queueCapacity: 4, maxInFlight: 2))
            {
                Equal(100, driver.Session.SampleCount, "sample_count from session_start_ack");
                Equal(200, driver.Session.InitialCoordinates.Length, "the initial uv_coordinates");
                Check(backend.SessionId != null, "a session id");
                driver.FrameSampled += slot => used[slot.FrameId] = slot.Coordinates;
                for (int t = 0; t < 40 && driver.Schedule.Applied < 2; t++)
                {
                    driver.SetState(new float[] { t, -1.5f, 1e-3f }, 3);
                    FrameSlot slot = driver.BeginCapture(t / 10.0);
                    if (slot != null) driver.CompleteCapture(slot, frame.View);
                    Thread.Sleep(t < 25 ? 20 : 300); // then give the server time to answer
                }
                WaitUntil(() => driver.FramesSubmitted + driver.FramesFailed + driver.FramesDropped == driver.FramesCaptured,
                    "frames sent");
                Equal(0L, driver.FramesFailed, "failed sends (" + driver.LastError + ")");
                Equal(0L, backend.ServerErrors, "server errors (" + backend.LastServerError + ")");
                Check(driver.Schedule.Applied >= 1, "uv_coordinates updates applied (mask renewed every 10 frames)");
                ulong from = driver.Schedule.CurrentFrom;
                Check(used.ContainsKey(from) && used[from] != driver.Session.InitialCoordinates,
                    "frame " + from + " sampled at the update");
            }
        }
    }
}
