// Sampling a captured frame where SGAPS says, with the rule of the core's
// `Pixel::sample` (sgaps-core/src/pipeline/frame.rs): the value of pixel
// (floor(u * W), floor(v * H)) of the frame, v = 0 being the TOP row. Plain C#, no
// UnityEngine, so it runs headless (bindings/unity/Tests~).
using System;
using System.Runtime.InteropServices;

namespace Sgaps
{
    /// <summary>Which row of a buffer is row 0.</summary>
    public enum RowOrder
    {
        /// <summary>Row 0 is the top of the picture: SGAPS images, PNG, most CPU images.</summary>
        TopDown,
        /// <summary>Row 0 is the bottom: Unity textures and AsyncGPUReadback data, OpenGL.</summary>
        BottomUp,
    }

    /// <summary>
    /// A captured frame in memory the caller owns (a readback buffer, a pinned array):
    /// <see cref="Width"/> x <see cref="Height"/> pixels of <see cref="Channels"/> bytes
    /// (1: grey or R8; 3: RGB24; 4: RGBA32), rows <see cref="Stride"/> bytes apart.
    /// </summary>
    public struct FrameView
    {
        public IntPtr Data;
        public int Length;
        public int Width;
        public int Height;
        public int Channels;
        public int Stride;
        public RowOrder Rows;

        public FrameView(IntPtr data, int length, int width, int height, int channels, RowOrder rows)
        {
            Data = data;
            Length = length;
            Width = width;
            Height = height;
            Channels = channels;
            Stride = width * channels;
            Rows = rows;
        }

        /// <summary>Throws unless the buffer holds the whole frame.</summary>
        public void Validate()
        {
            if (Data == IntPtr.Zero) throw new ArgumentException("the frame has no data");
            if (Width <= 0 || Height <= 0) throw new ArgumentException("the frame is " + Width + "x" + Height);
            if (Channels != 1 && Channels != 3 && Channels != 4)
            {
                throw new ArgumentException("a pixel must be 1, 3 or 4 bytes, not " + Channels);
            }
            if (Stride < Width * Channels || (long)Stride * (Height - 1) + (long)Width * Channels > Length)
            {
                throw new ArgumentException("the frame buffer is " + Length + " bytes, too short for " + Width + "x" +
                    Height + "x" + Channels + " with stride " + Stride);
            }
        }
    }

    public static class FrameSampler
    {
        /// <summary>
        /// floor(t * size) clamped to [0, size - 1], computed in single precision as the
        /// core does (`(u * w as f32) as u32`, then `.min(w - 1)`; Rust's cast sends NaN
        /// and negatives to 0).
        /// </summary>
        public static int Index(float t, int size)
        {
            float x = (float)(t * (float)size); // the cast rounds to float, like Rust's f32 product
            if (!(x > 0f)) return 0;            // NaN and negatives
            if (x >= size) return size - 1;
            int i = (int)x;                     // truncation = floor for x > 0
            return i < size ? i : size - 1;
        }

        /// <summary>The buffer row holding SGAPS row floor(v * H) (v = 0 is the top).</summary>
        public static int Row(float v, int height, RowOrder rows)
        {
            int top = Index(v, height);
            return rows == RowOrder.TopDown ? top : height - 1 - top;
        }

        /// <summary>BT.601 luma of an RGB pixel, rounded (as PROTOCOL.md asks); exact on greys.</summary>
        public static int Luma(int r, int g, int b)
        {
            return (299 * r + 587 * g + 114 * b + 500) / 1000;
        }

        /// <summary>The grey level of pixel (x, yTop), yTop counted from the top.</summary>
        public static int Value(ref FrameView frame, int x, int yTop)
        {
            int row = frame.Rows == RowOrder.TopDown ? yTop : frame.Height - 1 - yTop;
            int offset = row * frame.Stride + x * frame.Channels;
            if (frame.Channels == 1) return Marshal.ReadByte(frame.Data, offset);
            return Luma(Marshal.ReadByte(frame.Data, offset), Marshal.ReadByte(frame.Data, offset + 1),
                Marshal.ReadByte(frame.Data, offset + 2));
        }

        /// <summary>
        /// Writes (u, v, value) triples into <paramref name="pixels"/> for the first
        /// <paramref name="count"/> (u, v) pairs of <paramref name="coordinates"/>.
        /// Allocates nothing.
        /// </summary>
        public static void Sample(FrameView frame, float[] coordinates, int count, float[] pixels)
        {
            frame.Validate();
            if (count < 0 || 2 * count > coordinates.Length || 3 * count > pixels.Length)
            {
                throw new ArgumentException("coordinates or pixels too short for " + count + " samples");
            }
            for (int i = 0; i < count; i++)
            {
                float u = coordinates[2 * i], v = coordinates[2 * i + 1];
                pixels[3 * i] = u;
                pixels[3 * i + 1] = v;
                pixels[3 * i + 2] = Value(ref frame, Index(u, frame.Width), Index(v, frame.Height));
            }
        }

        /// <summary>Copies a top-row-first image into <paramref name="destination"/> with the
        /// row order asked for (Unity textures want <see cref="RowOrder.BottomUp"/>).</summary>
        public static void CopyRows(byte[] source, int width, int height, byte[] destination, RowOrder rows)
        {
            if (source.Length < width * height || destination.Length < width * height)
            {
                throw new ArgumentException("images shorter than " + width + "x" + height);
            }
            for (int y = 0; y < height; y++)
            {
                int to = rows == RowOrder.TopDown ? y : height - 1 - y;
                Buffer.BlockCopy(source, y * width, destination, to * width, width);
            }
        }
    }
}
