// Stream.cs: a game's view of SGAPS through the C# binding (bindings/csharp, what the
// Unity package builds on), on a real game clip.
//
// Plays CLIP.pgm (grey frames, binary PGMs back to back) as if it were the game's screen,
// with the state vectors of CLIP.states.txt: samples each frame where the engine says,
// submits the samples and the state, swaps to new coordinates when the engine sends
// them, and prints the reconstruction's PSNR next to linear interpolation of the same
// samples (both measured by sgaps_psnr against the screen).
//
//   mcs -out:stream.exe bindings/csharp/Runtime/*.cs examples/csharp/Stream.cs
//   LD_LIBRARY_PATH=target/debug mono stream.exe examples/data/mario-1-2 [OVERRIDE...]
//
// The trained default model is built into libsgaps, so this works from any folder.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using Sgaps;

public static class StreamExample
{
    // The yardstick and the measure, from the C API (sgaps.h) directly.
    [DllImport("sgaps", CallingConvention = CallingConvention.Cdecl)]
    private static extern SgapsStatus sgaps_linear_interpolation(float[] pixels, UIntPtr pixelCount, uint width,
        uint height, byte[] outImage, UIntPtr capacity);

    [DllImport("sgaps", CallingConvention = CallingConvention.Cdecl)]
    private static extern IntPtr sgaps_last_error();

    [DllImport("sgaps", CallingConvention = CallingConvention.Cdecl)]
    private static extern SgapsStatus sgaps_psnr(byte[] image, uint width, uint height, byte[] reference,
        uint referenceWidth, uint referenceHeight, out double psnr);

    private sealed class Clip
    {
        public int Width, Height;
        public readonly List<byte[]> Frames = new List<byte[]>();   // Height x Width, top row first
        public readonly List<float[]> States = new List<float[]>();
    }

    // Reads BASE.pgm (binary PGMs of one size, back to back) and BASE.states.txt.
    private static Clip ReadClip(string baseName)
    {
        var clip = new Clip();
        byte[] data = File.ReadAllBytes(baseName + ".pgm");
        int at = 0;
        while (at < data.Length)
        {
            // Header: P5, width, height, 255, each followed by whitespace (one byte after 255).
            var fields = new string[4];
            for (int i = 0; i < 4; i++)
            {
                while (at < data.Length && char.IsWhiteSpace((char)data[at])) at++;
                int start = at;
                while (at < data.Length && !char.IsWhiteSpace((char)data[at])) at++;
                fields[i] = Encoding.ASCII.GetString(data, start, at - start);
            }
            at++;
            int width, height;
            if (fields[0] != "P5" || fields[3] != "255" || !int.TryParse(fields[1], out width)
                || !int.TryParse(fields[2], out height) || at + width * height > data.Length)
            {
                throw new InvalidDataException(baseName + ".pgm: frame " + clip.Frames.Count + " is not an 8-bit binary PGM");
            }
            clip.Width = width;
            clip.Height = height;
            var frame = new byte[width * height];
            Array.Copy(data, at, frame, 0, frame.Length);
            clip.Frames.Add(frame);
            at += frame.Length;
        }
        foreach (string line in File.ReadAllLines(baseName + ".states.txt"))
        {
            clip.States.Add(line.Split(new[] { ' ' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray());
        }
        return clip;
    }

    private static double Psnr(byte[] image, uint width, uint height, Clip clip, byte[] screen)
    {
        double value;
        Check(sgaps_psnr(image, width, height, screen, (uint)clip.Width, (uint)clip.Height, out value), "sgaps_psnr");
        return value;
    }

    private static void Check(SgapsStatus status, string what)
    {
        if (status != SgapsStatus.Ok)
        {
            throw new InvalidOperationException(what + " failed (" + status + "): "
                + Marshal.PtrToStringAnsi(sgaps_last_error()));
        }
    }

    public static int Main(string[] args)
    {
        if (args.Length < 1)
        {
            Console.Error.WriteLine("usage: mono stream.exe CLIP [OVERRIDE...]   (CLIP: e.g. examples/data/mario-1-2)");
            return 2;
        }
        Clip clip = ReadClip(args[0]);
        int W = clip.Width, H = clip.Height;
        using (var engine = new SgapsEngine(null, args.Skip(1).ToArray()))
        using (SgapsSession session = engine.BeginSession("default", W, H))
        {
            SessionParams p = session.Params;
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "libsgaps {0}, {1} samples per frame; checkpoint {2}, version {3} ({4}), reconstructs {5}x{6}",
                SgapsEngine.LibraryVersion, p.SampleCount, p.CheckpointKey, p.ModelVersion,
                p.CheckpointLoaded ? "trained" : "untrained weights", p.Width, p.Height));

            float[] coordinates = session.InitialCoordinates;
            var next = new float[session.CoordinatesLength];
            var reconstruction = new byte[session.ReconstructionLength];
            var linear = new byte[session.ReconstructionLength];
            var pixels = new float[3 * p.SampleCount];
            double modelSum = 0, linearSum = 0;
            for (int t = 0; t < clip.Frames.Count; t++)
            {
                byte[] screen = clip.Frames[t];
                // Sample the screen at each (u, v): the pixel under it (v = 0 is the top row).
                for (int i = 0; i < p.SampleCount; i++)
                {
                    float u = coordinates[2 * i], v = coordinates[2 * i + 1];
                    int x = Math.Min((int)(u * W), W - 1), y = Math.Min((int)(v * H), H - 1);
                    pixels[3 * i] = u;
                    pixels[3 * i + 1] = v;
                    pixels[3 * i + 2] = screen[y * W + x];
                }
                FrameResult result = session.Submit((ulong)t, t / 10.0, pixels, clip.States[t], reconstruction, null, next);
                // The yardstick: linear interpolation of the same samples, measured the same way.
                Check(sgaps_linear_interpolation(pixels, (UIntPtr)p.SampleCount, p.Width, p.Height, linear,
                    (UIntPtr)linear.Length), "sgaps_linear_interpolation");
                if (result.CoordinatesUpdated)
                {
                    // Sample at the new coordinates from frame TargetFrameId (the next) on.
                    coordinates = (float[])next.Clone();
                }
                double model = Psnr(reconstruction, p.Width, p.Height, clip, screen);
                double interpolated = Psnr(linear, p.Width, p.Height, clip, screen);
                modelSum += model;
                linearSum += interpolated;
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                    "frame {0,2}: model {1,5:F2} dB, linear interpolation {2,5:F2} dB, {3,6:F1} ms",
                    t, model, interpolated, result.InferenceMs));
            }
            Console.WriteLine(string.Format(CultureInfo.InvariantCulture,
                "mean PSNR over {0} frames: model {1:F2} dB, linear interpolation {2:F2} dB",
                clip.Frames.Count, modelSum / clip.Frames.Count, linearSum / clip.Frames.Count));
        }
        return 0;
    }
}
