// The sample: a few shapes move in front of the camera; SgapsRecorder (on the same
// object) records the screen, the shapes' positions are its state vector, and the live
// reconstruction is drawn in the top-right corner.
using Sgaps;
using UnityEngine;

[RequireComponent(typeof(SgapsRecorder))]
public sealed class SgapsSampleScene : MonoBehaviour
{
    private readonly Transform[] shapes = new Transform[3];
    private readonly float[] state = new float[6]; // reused: SetState copies it
    private SgapsRecorder recorder;

    private void Awake()
    {
        recorder = GetComponent<SgapsRecorder>();
        PrimitiveType[] kinds = { PrimitiveType.Cube, PrimitiveType.Sphere, PrimitiveType.Capsule };
        for (int i = 0; i < shapes.Length; i++)
        {
            shapes[i] = GameObject.CreatePrimitive(kinds[i]).transform;
        }
        new GameObject("Light").AddComponent<Light>().type = LightType.Directional;
    }

    private void Update()
    {
        float t = Time.time;
        for (int i = 0; i < shapes.Length; i++)
        {
            Vector3 position = new Vector3(3f * Mathf.Sin(t * (0.7f + 0.3f * i) + i), 1.5f * Mathf.Cos(t * 0.9f + 2 * i), 0f);
            shapes[i].position = position;
            shapes[i].rotation = Quaternion.Euler(30f * t, 45f * t + 60 * i, 0f);
            state[2 * i] = position.x;
            state[2 * i + 1] = position.y;
        }
        recorder.SetState(state);
    }

    private void OnGUI()
    {
        Texture2D reconstruction = recorder.Reconstruction;
        if (reconstruction == null) return;
        float width = Screen.width / 4f, height = width * reconstruction.height / reconstruction.width;
        GUI.DrawTexture(new Rect(Screen.width - width - 8, 8, width, height), reconstruction);
    }
}
