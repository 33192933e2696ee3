// Records the game with SGAPS: captures the screen (or a RenderTexture) through
// AsyncGPUReadback, samples it where SGAPS says, and sends the pixels and the state
// vector, in-process (Embedded: libsgaps linked into the game) or to a server (Remote:
// the WebSocket protocol). Everything but the capture is RecorderDriver, plain C#.
//
// Orientation: SGAPS puts v = 0 at the TOP row; Unity textures and readback data put
// row 0 at the BOTTOM. Captures are blitted so the readback is always bottom-up, and the
// sampler reads row H - 1 - floor(v * H). The reconstruction texture is flipped the same
// way, so it shows upright.
using System;
using System.Collections;
using Unity.Collections;
using Unity.Collections.LowLevel.Unsafe;
using UnityEngine;
using UnityEngine.Rendering;

namespace Sgaps
{
    [AddComponentMenu("SGAPS/SGAPS Recorder")]
    [DisallowMultipleComponent]
    public sealed class SgapsRecorder : MonoBehaviour
    {
        public enum Mode
        {
            /// <summary>libsgaps runs inside the game (native plugin).</summary>
            Embedded,
            /// <summary>Frames go to an SGAPS server over WebSocket.</summary>
            Remote,
        }

        [Tooltip("Embedded: the linked libsgaps reconstructs in-process. Remote: an SGAPS server does.")]
        public Mode mode = Mode.Embedded;

        [Tooltip("The checkpoint (game) key; unknown keys fall back to \"default\".")]
        public string checkpointKey = "default";

        [Header("Embedded")]
        [Tooltip("A conf/ directory, or empty for the configuration built into libsgaps.")]
        public string configDirectory = "";
        [Tooltip("Configuration overrides such as \"model=spt_small\" or \"device=cpu\".")]
        public string[] overrides = new string[0];

        [Header("Remote")]
        public string serverUrl = "ws://127.0.0.1:8000/ws/stream";
        [Tooltip("The server's auth token, if it has one.")]
        public string authToken = "";

        [Header("Capture")]
        [Tooltip("What to record; empty records the screen.")]
        public RenderTexture source;
        [Tooltip("Width of the captured frame in pixels (the client resolution SGAPS sees); 0 keeps the source's.")]
        public int captureWidth = 640;
        [Tooltip("Height of the captured frame; 0 keeps the source's aspect ratio.")]
        public int captureHeight = 0;
        [Tooltip("Frames per second to capture; 0 uses the session's target_fps.")]
        public float captureFps = 0f;
        [Tooltip("Frames that may wait for the worker thread; beyond that the oldest is dropped.")]
        public int queueCapacity = 2;

        [Header("Output")]
        [Tooltip("Keep Reconstruction updated with the newest reconstructed frame (Embedded mode).")]
        public bool liveReconstruction = false;

        private const int MaxInFlight = 4;
        private readonly WaitForEndOfFrame endOfFrame = new WaitForEndOfFrame();
        private readonly FrameSlot[] inFlight = new FrameSlot[MaxInFlight]; // readbacks complete in order
        private int inFlightHead, inFlightCount;
        private Action<AsyncGPUReadbackRequest> onReadback;
        private RecorderDriver driver;
        private RenderTexture screen, capture;
        private Texture2D reconstruction;
        private byte[] reconstructionBytes;
        private float nextCaptureTime;

        /// <summary>The engine-independent part: session, schedule, counters.</summary>
        public RecorderDriver Driver { get { return driver; } }

        /// <summary>The newest reconstruction (R8, upright), when liveReconstruction is on in
        /// Embedded mode; null otherwise.</summary>
        public Texture2D Reconstruction { get { return reconstruction; } }

        /// <summary>Sets the state vector sent with the next captured frames (at most
        /// Driver.Session.MaxStateDim values). Copied, not kept.</summary>
        public void SetState(float[] values)
        {
            if (driver != null) driver.SetState(values, values == null ? 0 : values.Length);
        }

        /// <summary>Sets one value of the state vector.</summary>
        public void SetState(int index, float value)
        {
            if (driver != null) driver.SetState(index, value);
        }

        private void OnEnable()
        {
            int width, height;
            CaptureSize(out width, out height);
            IFrameBackend backend = mode == Mode.Embedded
                ? (IFrameBackend)new EmbeddedBackend(checkpointKey, string.IsNullOrEmpty(configDirectory) ? null : configDirectory,
                    overrides ?? new string[0])
                : new RemoteBackend(serverUrl, checkpointKey, authToken);
            try
            {
                driver = new RecorderDriver(backend, width, height, Math.Max(1, queueCapacity), MaxInFlight,
                    reconstruct: liveReconstruction && mode == Mode.Embedded);
            }
            catch (Exception e)
            {
                backend.Dispose();
                Debug.LogError("SGAPS: could not start the session: " + e.Message);
                enabled = false;
                return;
            }
            SessionInfo session = driver.Session;
            Debug.Log("SGAPS: " + mode + " session, " + session.SampleCount + " pixels per frame, model " +
                session.ModelVersion + (session.CheckpointLoaded ? "" : " (no trained checkpoint for this key)"));
            capture = new RenderTexture(width, height, 0, RenderTextureFormat.ARGB32);
            capture.Create();
            if (driver.Session.Width > 0 && liveReconstruction && mode == Mode.Embedded)
            {
                reconstruction = new Texture2D(session.Width, session.Height, TextureFormat.R8, false);
                reconstruction.filterMode = FilterMode.Point;
                reconstructionBytes = new byte[session.Width * session.Height];
            }
            onReadback = OnReadback;
            nextCaptureTime = 0f;
            StartCoroutine(CaptureLoop());
        }

        private void OnDisable()
        {
            StopAllCoroutines();
            // Readbacks still in flight complete now (their frames are queued, then dropped
            // by Dispose), so no callback comes after the driver is gone.
            AsyncGPUReadback.WaitAllRequests();
            if (driver != null)
            {
                driver.Dispose();
                driver = null;
            }
            inFlightHead = inFlightCount = 0;
            Release(ref capture);
            Release(ref screen);
            if (reconstruction != null) Destroy(reconstruction);
            reconstruction = null;
        }

        private IEnumerator CaptureLoop()
        {
            while (true)
            {
                yield return endOfFrame; // the frame is rendered, UI included
                if (driver == null) yield break;
                UpdateReconstruction();
                float fps = captureFps > 0f ? captureFps : Math.Max(1, driver.Session.TargetFps);
                if (Time.unscaledTime < nextCaptureTime || inFlightCount == MaxInFlight) continue;
                nextCaptureTime = Math.Max(nextCaptureTime + 1f / fps, Time.unscaledTime);
                Capture();
            }
        }

        private void Capture()
        {
            FrameSlot slot = driver.BeginCapture(Time.time);
            if (slot == null) return; // every slot busy: skip this frame
            if (source != null)
            {
                Graphics.Blit(source, capture);
            }
            else
            {
                if (screen == null || screen.width != Screen.width || screen.height != Screen.height)
                {
                    Release(ref screen);
                    screen = new RenderTexture(Screen.width, Screen.height, 0, RenderTextureFormat.ARGB32);
                    screen.Create();
                }
                ScreenCapture.CaptureScreenshotIntoRenderTexture(screen);
                // The screenshot is upside down where UVs start at the top (Direct3D, Metal,
                // Vulkan); flip it there so the readback is bottom-up everywhere.
                if (SystemInfo.graphicsUVStartsAtTop)
                {
                    Graphics.Blit(screen, capture, new Vector2(1f, -1f), new Vector2(0f, 1f));
                }
                else
                {
                    Graphics.Blit(screen, capture);
                }
            }
            inFlight[(inFlightHead + inFlightCount) % MaxInFlight] = slot;
            inFlightCount++;
            AsyncGPUReadback.Request(capture, 0, TextureFormat.RGBA32, onReadback);
        }

        private void OnReadback(AsyncGPUReadbackRequest request)
        {
            if (inFlightCount == 0) return; // after OnDisable
            FrameSlot slot = inFlight[inFlightHead];
            inFlight[inFlightHead] = null;
            inFlightHead = (inFlightHead + 1) % MaxInFlight;
            inFlightCount--;
            if (driver == null) return;
            if (request.hasError)
            {
                driver.CancelCapture(slot);
                return;
            }
            NativeArray<byte> data = request.GetData<byte>();
            FrameView frame;
            unsafe
            {
                frame = new FrameView((IntPtr)data.GetUnsafeReadOnlyPtr(), data.Length, request.width, request.height, 4,
                    RowOrder.BottomUp);
            }
            driver.CompleteCapture(slot, frame);
        }

        private void UpdateReconstruction()
        {
            ulong frameId;
            if (reconstruction == null || !driver.CopyLatestReconstruction(reconstructionBytes, RowOrder.BottomUp, out frameId))
            {
                return;
            }
            reconstruction.LoadRawTextureData(reconstructionBytes);
            reconstruction.Apply(false);
        }

        // The frame size SGAPS sees: captureWidth x captureHeight, a zero keeping the source's aspect.
        private void CaptureSize(out int width, out int height)
        {
            int sourceWidth = source != null ? source.width : Screen.width;
            int sourceHeight = source != null ? source.height : Screen.height;
            width = captureWidth > 0 ? captureWidth : sourceWidth;
            height = captureHeight > 0 ? captureHeight
                : Math.Max(1, (int)Math.Round((double)width * sourceHeight / Math.Max(1, sourceWidth)));
            if (captureWidth <= 0 && captureHeight > 0)
            {
                width = Math.Max(1, (int)Math.Round((double)height * sourceWidth / Math.Max(1, sourceHeight)));
            }
        }

        private static void Release(ref RenderTexture texture)
        {
            if (texture == null) return;
            texture.Release();
            Destroy(texture);
            texture = null;
        }
    }
}
