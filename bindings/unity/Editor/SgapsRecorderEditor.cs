// The inspector of SgapsRecorder: its settings, and while playing, the session and
// counters of frames captured, submitted, dropped and failed.
using UnityEditor;

namespace Sgaps.Editor
{
    [CustomEditor(typeof(SgapsRecorder))]
    public sealed class SgapsRecorderEditor : UnityEditor.Editor
    {
        public override void OnInspectorGUI()
        {
            DrawDefaultInspector();
            RecorderDriver driver = ((SgapsRecorder)target).Driver;
            if (driver == null) return;
            SessionInfo session = driver.Session;
            EditorGUILayout.Space();
            EditorGUILayout.LabelField("Session", session.SampleCount + " pixels/frame, " + session.Width + "x" +
                session.Height + ", model " + session.ModelVersion);
            EditorGUILayout.LabelField("Frames", driver.FramesCaptured + " captured, " + driver.FramesSubmitted +
                " submitted, " + driver.FramesDropped + " dropped, " + driver.FramesFailed + " failed");
            EditorGUILayout.LabelField("Coordinate updates", driver.Schedule.Applied + " (" + driver.Schedule.AppliedLate + " late)");
            if (driver.LastError != null) EditorGUILayout.HelpBox(driver.LastError, MessageType.Warning);
            Repaint(); // keep the counters live
        }
    }
}
