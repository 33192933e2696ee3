// Just enough JSON for the server's replies (PROTOCOL.md): objects become
// Dictionary<string, object>, arrays List<object>, numbers double, plus string, bool
// and null. Unity's JsonUtility cannot read untyped payloads and this assembly must not
// depend on UnityEngine or a package, hence this small reader.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace Sgaps
{
    public static class MiniJson
    {
        public static object Parse(string text)
        {
            int i = 0;
            object value = ReadValue(text, ref i);
            SkipSpace(text, ref i);
            if (i != text.Length) throw Fail(text, i, "trailing characters");
            return value;
        }

        /// <summary>Appends <paramref name="text"/> as a JSON string literal.</summary>
        public static void WriteString(StringBuilder to, string text)
        {
            to.Append('"');
            foreach (char c in text)
            {
                switch (c)
                {
                    case '"': to.Append("\\\""); break;
                    case '\\': to.Append("\\\\"); break;
                    case '\n': to.Append("\\n"); break;
                    case '\r': to.Append("\\r"); break;
                    case '\t': to.Append("\\t"); break;
                    default:
                        if (c < ' ') to.Append("\\u").Append(((int)c).ToString("x4"));
                        else to.Append(c);
                        break;
                }
            }
            to.Append('"');
        }

        private static object ReadValue(string s, ref int i)
        {
            SkipSpace(s, ref i);
            if (i >= s.Length) throw Fail(s, i, "unexpected end");
            char c = s[i];
            if (c == '{') return ReadObject(s, ref i);
            if (c == '[') return ReadArray(s, ref i);
            if (c == '"') return ReadString(s, ref i);
            if (Literal(s, ref i, "true")) return true;
            if (Literal(s, ref i, "false")) return false;
            if (Literal(s, ref i, "null")) return null;
            return ReadNumber(s, ref i);
        }

        private static Dictionary<string, object> ReadObject(string s, ref int i)
        {
            var result = new Dictionary<string, object>();
            i++; // {
            SkipSpace(s, ref i);
            if (i < s.Length && s[i] == '}') { i++; return result; }
            while (true)
            {
                SkipSpace(s, ref i);
                if (i >= s.Length || s[i] != '"') throw Fail(s, i, "expected a key");
                string key = ReadString(s, ref i);
                SkipSpace(s, ref i);
                if (i >= s.Length || s[i] != ':') throw Fail(s, i, "expected ':'");
                i++;
                result[key] = ReadValue(s, ref i);
                SkipSpace(s, ref i);
                if (i < s.Length && s[i] == ',') { i++; continue; }
                if (i < s.Length && s[i] == '}') { i++; return result; }
                throw Fail(s, i, "expected ',' or '}'");
            }
        }

        private static List<object> ReadArray(string s, ref int i)
        {
            var result = new List<object>();
            i++; // [
            SkipSpace(s, ref i);
            if (i < s.Length && s[i] == ']') { i++; return result; }
            while (true)
            {
                result.Add(ReadValue(s, ref i));
                SkipSpace(s, ref i);
                if (i < s.Length && s[i] == ',') { i++; continue; }
                if (i < s.Length && s[i] == ']') { i++; return result; }
                throw Fail(s, i, "expected ',' or ']'");
            }
        }

        private static string ReadString(string s, ref int i)
        {
            var result = new StringBuilder();
            i++; // opening quote
            while (i < s.Length)
            {
                char c = s[i++];
                if (c == '"') return result.ToString();
                if (c != '\\') { result.Append(c); continue; }
                if (i >= s.Length) break;
                char e = s[i++];
                switch (e)
                {
                    case 'n': result.Append('\n'); break;
                    case 'r': result.Append('\r'); break;
                    case 't': result.Append('\t'); break;
                    case 'b': result.Append('\b'); break;
                    case 'f': result.Append('\f'); break;
                    case 'u':
                        if (i + 4 > s.Length) throw Fail(s, i, "short \\u escape");
                        result.Append((char)int.Parse(s.Substring(i, 4), NumberStyles.HexNumber));
                        i += 4;
                        break;
                    default: result.Append(e); break; // \" \\ \/
                }
            }
            throw Fail(s, i, "unterminated string");
        }

        private static double ReadNumber(string s, ref int i)
        {
            int start = i;
            while (i < s.Length && "+-0123456789.eE".IndexOf(s[i]) >= 0) i++;
            double value;
            if (i == start || !double.TryParse(s.Substring(start, i - start), NumberStyles.Float,
                CultureInfo.InvariantCulture, out value))
            {
                throw Fail(s, start, "expected a value");
            }
            return value;
        }

        private static bool Literal(string s, ref int i, string word)
        {
            if (string.CompareOrdinal(s, i, word, 0, word.Length) != 0) return false;
            i += word.Length;
            return true;
        }

        private static void SkipSpace(string s, ref int i)
        {
            while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        }

        private static FormatException Fail(string s, int i, string what)
        {
            return new FormatException("bad JSON at " + i + ": " + what);
        }
    }
}
