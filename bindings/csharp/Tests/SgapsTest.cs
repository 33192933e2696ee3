// Runs the C# binding against the real libsgaps (Mono: mcs + mono): opens an engine,
// streams a session, checks sizes and the error paths, a 60 Hz game loop on SubmitAsync
// and Poll, and Rebind to a checkpoint of another resolution. Exits non-zero on a failure.
//
//   mono SgapsTest.exe CHECKPOINT_DIR OTHER_CHECKPOINT    (libsgaps.so on LD_LIBRARY_PATH)
//
// OTHER_CHECKPOINT: a checkpoint folder whose resolution is not 32x24 (checkpoints/default).
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Threading;
using Sgaps;

public static class SgapsTest
{
    private static void Check(bool condition, string what)
    {
        if (!condition)
        {
            Console.Error.WriteLine("FAILED: " + what);
            Environment.Exit(1);
        }
    }

    private static void ExpectError(SgapsStatus status, string needle, Action body)
    {
        try
        {
            body();
        }
        catch (SgapsException e)
        {
            Check(e.Status == status && e.Message.Contains(needle), "wrong error: " + e.Message);
            return;
        }
        Check(false, "expected an error containing \"" + needle + "\"");
    }

    private static float[] Sample(float[] coordinates, int t)
    {
        float[] pixels = new float[coordinates.Length / 2 * 3];
        for (int i = 0; i < coordinates.Length / 2; i++)
        {
            float u = coordinates[2 * i], v = coordinates[2 * i + 1];
            pixels[3 * i] = u;
            pixels[3 * i + 1] = v;
            pixels[3 * i + 2] = (u > 0.1f * t && u < 0.1f * t + 0.3f) ? 250f : v * 160f;
        }
        return pixels;
    }

    // A game's Update at 60 Hz for 3 s: SubmitAsync and Poll(0) every tick into fixed
    // arrays. No call may take BoundMs (a blocking Submit of this model takes 100-160 ms
    // here; a busy 2-core machine deschedules a thread for a few ms now and then); every
    // frame is answered once and in order; reconstructions arrive; the newest always runs.
    private static void GameLoop(string checkpointDir)
    {
        const double BoundMs = 40.0, MedianBoundMs = 1.0;
        // The built-in temporal model, slower than the trained default: frames wait and
        // newer ones supersede them.
        using (SgapsEngine engine = new SgapsEngine(null, "device=cpu", "model.temporal.channels=[64,128,256]",
            "checkpoint_dir=" + checkpointDir))
        {
            var submitted = new List<ulong>();
            var answered = new List<ulong>();
            var calls = new List<double>(600);
            int reconstructed = 0;
            bool newestRan = false;
            using (SgapsSession session = engine.BeginSession("game", 256, 240))
            {
                byte[] reconstruction = new byte[session.ReconstructionLength];
                float[] importance = new float[session.ReconstructionLength];
                float[] next = new float[session.CoordinatesLength];
                float[] coordinates = (float[])session.InitialCoordinates.Clone();
                FrameResult result;
                SgapsStatus status;
                // One frame first, unmeasured: Mono compiles the methods and their P/Invoke
                // stubs on first use (tens of ms), as a game's first frame would.
                Check(session.SubmitAsync(0, 0, Sample(coordinates, 0), null), "warm-up frame");
                Check(session.Poll(10000, reconstruction, importance, next, out result) == SgapsStatus.Ok, "warm-up");
                Stopwatch clock = Stopwatch.StartNew(), call = new Stopwatch();
                for (int t = 1; t <= 180; t++)
                {
                    float[] pixels = Sample(coordinates, t % 8);
                    call.Restart();
                    bool taken = session.SubmitAsync((ulong)t, t / 60.0, pixels, null);
                    calls.Add(call.Elapsed.TotalMilliseconds);
                    if (taken) submitted.Add((ulong)t); // else busy: no answer comes
                    do
                    {
                        call.Restart();
                        status = session.Poll(0, reconstruction, importance, next, out result);
                        calls.Add(call.Elapsed.TotalMilliseconds);
                        if (status == SgapsStatus.Pending) break;
                        answered.Add(result.FrameId);
                        newestRan = status == SgapsStatus.Ok;
                        if (status != SgapsStatus.Ok) continue;
                        reconstructed++;
                        Check(result.Width == session.Params.Width && result.Height == session.Params.Height, "size");
                        if (result.CoordinatesUpdated) Array.Copy(next, coordinates, coordinates.Length);
                    } while (true);
                    double left = t * 1000.0 / 60 - clock.Elapsed.TotalMilliseconds;
                    if (left > 0) Thread.Sleep(TimeSpan.FromMilliseconds(left));
                }
                double elapsed = clock.Elapsed.TotalMilliseconds;
                while (answered.Count < submitted.Count)
                {
                    status = session.Poll(10000, reconstruction, importance, next, out result);
                    Check(status != SgapsStatus.Pending, "an answer within 10 s");
                    answered.Add(result.FrameId);
                    newestRan = status == SgapsStatus.Ok;
                    if (newestRan) reconstructed++;
                }
                Check(session.Poll(100, reconstruction, importance, next, out result) == SgapsStatus.Pending,
                    "no answer beyond one per frame");
                calls.Sort();
                double max = calls[calls.Count - 1], median = calls[calls.Count / 2];
                Console.WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture,
                    "60 Hz for {0:F2} s: {1} frames submitted, {2} reconstructed, {3} superseded; "
                    + "SubmitAsync/Poll(0) max {4:F2} ms, median {5:F3} ms over {6} calls",
                    elapsed / 1e3, submitted.Count, reconstructed, answered.Count - reconstructed, max, median,
                    calls.Count));
                Check(string.Join(",", answered) == string.Join(",", submitted), "one answer per frame, in order");
                Check(max < BoundMs && median < MedianBoundMs, "calls within the bound");
                Check(reconstructed >= 10 && newestRan, "reconstructions arrive; the newest frame runs");
                Check(session.End().FramesReconstructed == (ulong)reconstructed + 1, "stats count the reconstructions");
            }

            // A session disposed with frames in flight: the engine goes on serving.
            using (SgapsSession doomed = engine.BeginSession("game", 256, 240))
            {
                float[] pixels = Sample(doomed.InitialCoordinates, 0);
                Check(doomed.SubmitAsync(0, 0, pixels, null) && doomed.SubmitAsync(1, 0, pixels, null), "in flight");
            }
            using (SgapsSession other = engine.BeginSession("other", 256, 240))
            {
                FrameResult result;
                Check(other.SubmitAsync(5, 0, Sample(other.InitialCoordinates, 0), null), "submit after a dispose");
                Check(other.Poll(10000, null, null, null, out result) == SgapsStatus.Ok && result.FrameId == 5,
                    "served after a session was disposed in flight");
            }
        }
    }

    public static int Main(string[] args)
    {
        if (args.Length != 2)
        {
            Console.Error.WriteLine("usage: mono SgapsTest.exe CHECKPOINT_DIR OTHER_CHECKPOINT");
            return 2;
        }
        // Every SgapsStatus value has the library's name for it, and the library no other.
        Array statuses = Enum.GetValues(typeof(SgapsStatus));
        foreach (SgapsStatus status in statuses)
        {
            string name = "SGAPS_STATUS_" + System.Text.RegularExpressions.Regex.Replace(
                status.ToString(), "(?<=[a-z])(?=[A-Z])", "_").ToUpperInvariant();
            Check(Native.FromUtf8(Native.sgaps_status_name((int)status)) == name, "status name of " + status);
        }
        Check(Native.FromUtf8(Native.sgaps_status_name(statuses.Length)) == "SGAPS_STATUS_UNKNOWN",
            "the library has a status SgapsStatus lacks");
        ExpectError(SgapsStatus.ConfigError, "no_such_key", () => new SgapsEngine(null, "no_such_key=1"));

        using (SgapsEngine engine = new SgapsEngine(null, "model=spt_small", "model.resolution=[32,24]",
            "sampling.default_sample_count=100", "mask_update=fixed", "device=cpu", "checkpoint_dir=" + args[0]))
        {
            Check(SgapsEngine.LibraryVersion.Length > 0, "version");
            Check(engine.Info.SampleCount == 100 && engine.Info.Device.StartsWith("cpu"), "engine info");
            Check(engine.Checkpoints().Length == 0, "no checkpoints yet");
            ExpectError(SgapsStatus.CheckpointError, "model.safetensors",
                () => engine.RegisterCheckpoint("tiny", args[0] + "/missing"));

            using (SgapsSession session = engine.BeginSession("game", 64, 48))
            {
                SessionParams p = session.Params;
                Check(p.Width == 32 && p.Height == 24 && p.SampleCount == 100, "session resolution and samples");
                Check(p.CheckpointKey == "default" && p.ModelVersion == "untrained" && !p.CheckpointLoaded,
                    "checkpoint fallback: " + p.CheckpointKey + " " + p.ModelVersion);
                Check(p.ClientWidth == 64 && p.ClientHeight == 48, "client resolution");
                Check(session.InitialCoordinates.Length == 200, "initial coordinates");

                byte[] reconstruction = new byte[session.ReconstructionLength];
                float[] importance = new float[session.ReconstructionLength];
                float[] newCoordinates = new float[session.CoordinatesLength];
                float[] coordinates = session.InitialCoordinates;
                int updates = 0;
                for (int t = 0; t < 12; t++)
                {
                    FrameResult result = session.Submit((ulong)t, t / 10.0, Sample(coordinates, t),
                        new float[] { 1f, 2f }, reconstruction, importance, newCoordinates);
                    Check(result.FrameId == (ulong)t && result.Width == 32 && result.Height == 24, "frame " + t);
                    Check(double.IsNaN(result.GroundTruthPsnr) && result.BatchSize == 1, "frame " + t + " numbers");
                    foreach (float value in importance)
                    {
                        Check(value >= 0f && value <= 1f, "importance in [0, 1]");
                    }
                    if (result.CoordinatesUpdated)
                    {
                        Check(result.TargetFrameId == (ulong)t + 1 && result.CoordinateCount == 100, "update");
                        coordinates = (float[])newCoordinates.Clone();
                        updates++;
                    }
                }
                Check(updates == 1, "mask_update=fixed updates every 10 frames, got " + updates);
                Check(Array.Exists(reconstruction, b => b != reconstruction[0]) || reconstruction[0] != 0,
                    "the reconstruction was written");

                // Bad input: a value out of range, a short buffer, odd triples.
                float[] bad = Sample(coordinates, 0);
                bad[2] = 300f;
                ExpectError(SgapsStatus.InvalidFrame, "pixels[0].value",
                    () => session.Submit(12, 1.2, bad, null, reconstruction, importance, newCoordinates));
                ExpectError(SgapsStatus.BufferTooSmall, "`buffers.importance` holds 10 elements but 768",
                    () => session.Submit(12, 1.2, Sample(coordinates, 0), null, reconstruction, new float[10], null));
                try
                {
                    session.Submit(12, 1.2, new float[] { 0.5f, 0.5f }, null, null, null, null);
                    Check(false, "odd pixel triples accepted");
                }
                catch (ArgumentException) { }

                SessionStats stats = session.End();
                Check(stats.FramesReconstructed == 12 && stats.MaskUpdates == 1 && stats.LastFrameId == 11, "stats");
                Check(double.IsNaN(stats.MeanPsnr), "no ground truth, no PSNR");
                ExpectError(SgapsStatus.UnknownSession, "unknown session",
                    () => session.Submit(12, 1.2, Sample(coordinates, 0), null, null, null, null));
            }

            // Rebind: a checkpoint of another resolution registered under a live session's
            // key reaches it only through Rebind, with new lengths.
            using (SgapsSession live = engine.BeginSession("zelda", 64, 48))
            {
                engine.RegisterCheckpoint("zelda", args[1]);
                FrameResult result;
                Check(live.SubmitAsync(0, 0, Sample(live.InitialCoordinates, 0), null), "submit before the rebind");
                Check(live.Poll(10000, null, null, null, out result) == SgapsStatus.Ok && result.Width == 32,
                    "a running session keeps its model");
                float[] coordinates;
                SessionParams p = live.Rebind(out coordinates);
                Check(p.Width == live.Params.Width && p.CheckpointKey == "zelda" && p.CheckpointLoaded, "rebind params");
                Check((p.Width != 32 || p.Height != 24) && coordinates.Length == 2 * p.SampleCount, "rebind sizes");
                byte[] reconstruction = new byte[live.ReconstructionLength];
                Check(live.SubmitAsync(1, 0.1, Sample(coordinates, 1), null), "submit after the rebind");
                Check(live.Poll(10000, reconstruction, null, null, out result) == SgapsStatus.Ok
                    && result.FrameId == 1 && result.Width == p.Width && result.Height == p.Height, "the new size");
                float[] bad = Sample(coordinates, 0);
                bad[2] = 300f;
                ExpectError(SgapsStatus.InvalidFrame, "pixels[0].value", () => live.SubmitAsync(2, 0.2, bad, null));
                ExpectError(SgapsStatus.BufferTooSmall, "buffers.reconstruction",
                    () => live.Poll(0, new byte[10], null, null, out result));
                Console.WriteLine("rebind: 32x24 -> " + p.Width + "x" + p.Height);
            }
        }
        GameLoop(args[0] + "/game-loop");
        Console.WriteLine("C# binding: 12 frames, 1 mask update, sizes and errors, SubmitAsync/Poll, Rebind: OK");
        return 0;
    }
}
