// Synthetic frames for the tests: a picture given as grey(x, yTop), laid out in memory
// top-down or bottom-up, grey or RGBA, pinned so a FrameView can point at it.
using System;
using System.Runtime.InteropServices;
using Sgaps;

public sealed class Synthetic : IDisposable
{
    public readonly byte[] Bytes;
    private GCHandle pin;
    public readonly FrameView View;

    public Synthetic(int width, int height, int channels, RowOrder rows, Func<int, int, int> grey)
    {
        Bytes = new byte[width * height * channels];
        for (int yTop = 0; yTop < height; yTop++)
        {
            int row = rows == RowOrder.TopDown ? yTop : height - 1 - yTop;
            for (int x = 0; x < width; x++)
            {
                for (int c = 0; c < channels; c++)
                {
                    Bytes[(row * width + x) * channels + c] = c == 3 ? (byte)255 : (byte)grey(x, yTop);
                }
            }
        }
        pin = GCHandle.Alloc(Bytes, GCHandleType.Pinned);
        View = new FrameView(pin.AddrOfPinnedObject(), Bytes.Length, width, height, channels, rows);
    }

    public void Dispose()
    {
        if (pin.IsAllocated) pin.Free();
    }
}
