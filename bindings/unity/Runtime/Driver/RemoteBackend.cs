// Frames sent to an SGAPS server over its WebSocket protocol (/work/shared/PROTOCOL.md,
// docs in the repository's PROTOCOL.md): session_start, then frame_data open loop;
// session_start_ack and uv_coordinates come back on a receive thread, which hands new
// coordinates to the schedule with their target_frame_id. The server reconstructs, so
// no reconstruction comes back here (its dashboard shows them).
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Net.WebSockets;
using System.Text;
using System.Threading;

namespace Sgaps
{
    public sealed class RemoteBackend : IFrameBackend
    {
        private readonly string url;
        private readonly string checkpointKey;
        private readonly int timeoutMs;
        private readonly ClientWebSocket socket = new ClientWebSocket();
        private readonly object gate = new object();
        private readonly ManualResetEvent ready = new ManualResetEvent(false);
        private readonly StringBuilder json = new StringBuilder(1 << 16);
        private char[] chars = new char[1 << 16];
        private byte[] bytes = new byte[1 << 16];
        private Thread receiver;
        private SessionInfo info;
        private float[] initial;
        private CoordinateSchedule schedule;
        private string openError;
        private long serverErrors;
        private string lastServerError;
        private DateTime lastHeartbeat = DateTime.UtcNow;

        /// <param name="url">ws://HOST:PORT/ws/stream</param>
        /// <param name="token">The server's auth token, or null.</param>
        public RemoteBackend(string url, string checkpointKey, string token = null, int timeoutMs = 10000)
        {
            this.url = string.IsNullOrEmpty(token) ? url
                : url + (url.Contains("?") ? "&" : "?") + "token=" + Uri.EscapeDataString(token);
            this.checkpointKey = string.IsNullOrEmpty(checkpointKey) ? "default" : checkpointKey;
            this.timeoutMs = timeoutMs;
        }

        /// <summary>The server's session id (session_start_ack), for its REST API.</summary>
        public string SessionId { get; private set; }

        /// <summary>`error` messages the server sent (it keeps the connection), and the last one.</summary>
        public long ServerErrors { get { return Interlocked.Read(ref serverErrors); } }
        public string LastServerError { get { return Volatile.Read(ref lastServerError); } }

        public SessionInfo Open(int clientWidth, int clientHeight, Func<SessionInfo, CoordinateSchedule> makeSchedule)
        {
            if (!socket.ConnectAsync(new Uri(url), CancellationToken.None).Wait(timeoutMs))
            {
                throw new TimeoutException("no connection to " + url + " within " + timeoutMs + " ms");
            }
            receiver = new Thread(Receive) { IsBackground = true, Name = "SGAPS receive" };
            receiver.Start();
            json.Length = 0;
            json.Append("{\"type\":\"session_start\",\"payload\":{\"checkpoint_key\":");
            MiniJson.WriteString(json, checkpointKey);
            json.Append(",\"resolution\":[").Append(clientWidth.ToString(CultureInfo.InvariantCulture)).Append(',')
                .Append(clientHeight.ToString(CultureInfo.InvariantCulture)).Append("],\"debug\":false}}");
            Send();
            // The acknowledgement, then the first coordinates (target_frame_id 0).
            if (!ready.WaitOne(timeoutMs))
            {
                throw new TimeoutException("no session_start_ack and coordinates from " + url + " within " + timeoutMs + " ms");
            }
            lock (gate)
            {
                if (openError != null) throw new InvalidOperationException(openError);
                info.InitialCoordinates = initial;
                schedule = makeSchedule(info);
                return info;
            }
        }

        public FrameOutcome Submit(FrameSlot frame, byte[] reconstruction)
        {
            if ((DateTime.UtcNow - lastHeartbeat).TotalSeconds >= 5)
            {
                // Now and then, as PROTOCOL.md asks; from this thread, the only sender.
                lastHeartbeat = DateTime.UtcNow;
                json.Length = 0;
                json.Append("{\"type\":\"heartbeat\",\"payload\":{\"timestamp\":");
                AppendNumber(frame.Timestamp);
                json.Append("}}");
                Send();
            }
            json.Length = 0;
            json.Append("{\"type\":\"frame_data\",\"payload\":{\"frame_id\":")
                ;
            AppendInteger((long)frame.FrameId);
            json.Append(",\"timestamp\":");
            AppendNumber(frame.Timestamp);
            json.Append(",\"num_pixels\":");
            AppendInteger(frame.PixelCount);
            json.Append(",\"pixels\":[");
            for (int i = 0; i < frame.PixelCount; i++)
            {
                if (i > 0) json.Append(',');
                json.Append("{\"u\":");
                AppendUnit(frame.Pixels[3 * i]);
                json.Append(",\"v\":");
                AppendUnit(frame.Pixels[3 * i + 1]);
                json.Append(",\"value\":");
                AppendInteger((int)frame.Pixels[3 * i + 2]);
                json.Append('}');
            }
            json.Append("],\"state_vector\":[");
            for (int i = 0; i < frame.StateCount; i++)
            {
                if (i > 0) json.Append(',');
                AppendNumber(frame.State[i]);
            }
            json.Append("]}}");
            Send();
            return new FrameOutcome { FrameId = frame.FrameId };
        }

        public void Dispose()
        {
            try
            {
                if (socket.State == WebSocketState.Open)
                {
                    socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None)
                        .Wait(timeoutMs);
                }
            }
            catch (Exception)
            {
                // Closing a connection that already dropped: nothing to do.
            }
            if (receiver != null && !receiver.Join(timeoutMs)) socket.Abort();
            socket.Dispose();
            ready.Close();
        }

        // Sends `json` as one text message, reusing the char and byte buffers.
        private void Send()
        {
            if (chars.Length < json.Length) chars = new char[json.Length * 2];
            json.CopyTo(0, chars, 0, json.Length);
            int needed = Encoding.UTF8.GetMaxByteCount(json.Length);
            if (bytes.Length < needed) bytes = new byte[needed];
            int length = Encoding.UTF8.GetBytes(chars, 0, json.Length, bytes, 0);
            if (!socket.SendAsync(new ArraySegment<byte>(bytes, 0, length), WebSocketMessageType.Text, true,
                CancellationToken.None).Wait(timeoutMs))
            {
                throw new TimeoutException("sending to " + url + " took over " + timeoutMs + " ms");
            }
        }

        // u and v in [0, 1] with 9 decimals, without a string per number.
        private void AppendUnit(float x)
        {
            long q = (long)Math.Round((double)Math.Max(0f, Math.Min(1f, x)) * 1e9);
            AppendInteger(q / 1000000000);
            json.Append('.');
            long fraction = q % 1000000000;
            for (long digit = 100000000; digit > 0; digit /= 10) json.Append((char)('0' + fraction / digit % 10));
        }

        // StringBuilder.Append(long) makes a string first; this writes the digits.
        private void AppendInteger(long x)
        {
            if (x < 0)
            {
                json.Append('-');
                x = -x;
            }
            long digit = 1;
            while (digit <= x / 10) digit *= 10;
            for (; digit > 0; digit /= 10) json.Append((char)('0' + x / digit % 10));
        }

        private void AppendNumber(double x)
        {
            if (double.IsNaN(x) || double.IsInfinity(x)) x = 0; // JSON has neither
            json.Append(x.ToString("R", CultureInfo.InvariantCulture));
        }

        private void Receive()
        {
            byte[] buffer = new byte[1 << 16];
            MemoryStream message = new MemoryStream();
            try
            {
                while (socket.State == WebSocketState.Open || socket.State == WebSocketState.CloseSent)
                {
                    WebSocketReceiveResult result = socket.ReceiveAsync(new ArraySegment<byte>(buffer),
                        CancellationToken.None).Result;
                    if (result.MessageType == WebSocketMessageType.Close) break;
                    message.Write(buffer, 0, result.Count);
                    if (!result.EndOfMessage) continue;
                    if (result.MessageType == WebSocketMessageType.Text)
                    {
                        try
                        {
                            Handle(Encoding.UTF8.GetString(message.GetBuffer(), 0, (int)message.Length));
                        }
                        catch (Exception e)
                        {
                            // A message we cannot read: note it and keep the connection.
                            Interlocked.Increment(ref serverErrors);
                            Volatile.Write(ref lastServerError, "unreadable message: " + e.Message);
                        }
                    }
                    message.SetLength(0);
                }
            }
            catch (Exception e)
            {
                lock (gate)
                {
                    if (schedule == null && openError == null) openError = "connection lost: " + e.Message;
                }
            }
            lock (gate)
            {
                if (schedule == null && openError == null) openError = "the server closed the connection";
            }
            ready.Set(); // wakes an Open still waiting
        }

        private void Handle(string text)
        {
            var message = MiniJson.Parse(text) as Dictionary<string, object>;
            if (message == null) return;
            string type = message.ContainsKey("type") ? message["type"] as string : null;
            var payload = message.ContainsKey("payload") ? message["payload"] as Dictionary<string, object> : null;
            if (payload == null) return;
            lock (gate)
            {
                switch (type)
                {
                    case "session_start_ack":
                        info = ParseAck(payload);
                        SessionId = payload.ContainsKey("session_id") ? Convert.ToString(payload["session_id"], CultureInfo.InvariantCulture) : null;
                        break;
                    case "uv_coordinates":
                        float[] coordinates = ParseCoordinates(payload);
                        ulong target = (ulong)Number(payload, "target_frame_id", 0);
                        if (schedule != null) schedule.Post(target, coordinates);
                        else if (initial == null) initial = coordinates; // the first set: frame 0 on
                        break;
                    case "error":
                        string error = Convert.ToString(payload.ContainsKey("code") ? payload["code"] : "?") + ": " +
                            Convert.ToString(payload.ContainsKey("message") ? payload["message"] : "");
                        Interlocked.Increment(ref serverErrors);
                        Volatile.Write(ref lastServerError, error);
                        if (schedule == null) openError = "the server refused the session: " + error;
                        break;
                }
                if (schedule == null && (openError != null || (info != null && initial != null))) ready.Set();
            }
        }

        private static SessionInfo ParseAck(Dictionary<string, object> p)
        {
            var resolution = p.ContainsKey("resolution") ? p["resolution"] as List<object> : null;
            return new SessionInfo
            {
                // The fallbacks PROTOCOL.md gives for missing fields.
                SampleCount = (int)Number(p, "sample_count", 500),
                MaxStateDim = (int)Number(p, "max_state_dim", 64),
                TargetFps = (int)Number(p, "target_fps", 10),
                Width = resolution != null && resolution.Count == 2 ? Convert.ToInt32(resolution[0]) : 0,
                Height = resolution != null && resolution.Count == 2 ? Convert.ToInt32(resolution[1]) : 0,
                CheckpointKey = p.ContainsKey("checkpoint_key") ? p["checkpoint_key"] as string : null,
                ModelVersion = p.ContainsKey("model_version") ? p["model_version"] as string : null,
                CheckpointLoaded = p.ContainsKey("checkpoint_loaded") && true.Equals(p["checkpoint_loaded"]),
            };
        }

        /// <summary>(u, v) pairs from `coordinates` or `coordinates_quantized` (u16 pairs, x * 65535).</summary>
        public static float[] ParseCoordinates(Dictionary<string, object> payload)
        {
            var plain = payload.ContainsKey("coordinates") ? payload["coordinates"] as List<object> : null;
            if (plain != null)
            {
                float[] result = new float[2 * plain.Count];
                for (int i = 0; i < plain.Count; i++)
                {
                    var c = (Dictionary<string, object>)plain[i];
                    result[2 * i] = (float)Number(c, "u", 0);
                    result[2 * i + 1] = (float)Number(c, "v", 0);
                }
                return result;
            }
            var quantized = payload.ContainsKey("coordinates_quantized")
                ? payload["coordinates_quantized"] as Dictionary<string, object> : null;
            if (quantized == null) throw new FormatException("uv_coordinates without coordinates");
            byte[] data = Convert.FromBase64String((string)quantized["data"]);
            float[] values = new float[data.Length / 2];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = (data[2 * i] | data[2 * i + 1] << 8) / 65535f;
            }
            return values;
        }

        private static double Number(Dictionary<string, object> p, string key, double fallback)
        {
            return p.ContainsKey(key) && p[key] is double ? (double)p[key] : fallback;
        }
    }
}
