// Runs the C# binding against the real libsgaps (Mono: mcs + mono): opens an engine,
// streams a session, checks sizes and the error paths. Exits non-zero on a failure.
//
//   mono SgapsTest.exe CHECKPOINT_DIR      (libsgaps.so on LD_LIBRARY_PATH)
using System;
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

    public static int Main(string[] args)
    {
        if (args.Length != 1)
        {
            Console.Error.WriteLine("usage: mono SgapsTest.exe CHECKPOINT_DIR");
            return 2;
        }
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
        }
        Console.WriteLine("C# binding: 12 frames, 1 mask update, sizes and errors: OK");
        return 0;
    }
}
