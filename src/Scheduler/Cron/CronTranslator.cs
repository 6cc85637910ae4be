using System.Globalization;
using System.Text;
using TaskHub.Contracts.Cron;

namespace TaskHub.Scheduler.Cron;

/// <summary>A cron field the translator refused; <see cref="Field"/> is the field's name (<c>second</c> … <c>dow</c>).</summary>
public sealed record CronFieldError(string Field, string Message);

/// <summary>
/// Classic cron with seconds (<c>*</c>, lists, ranges, steps; month 1-12 or JAN-DEC; dow 0-6 or
/// SUN-SAT with 0 and 7 = Sunday) → a Quartz cron expression. Quartz numbers weekdays 1-7 from
/// Sunday and needs one of day-of-month/day-of-week to be <c>?</c>: the unrestricted one becomes
/// <c>?</c>. Both restricted means "either matches" in classic cron, which one Quartz expression
/// cannot say, so that is refused rather than silently fired on different days.
/// </summary>
public static class CronTranslator
{
    sealed record FieldSpec(string Name, int Min, int Max, string[]? Names = null, int NamesFrom = 0);

    static readonly FieldSpec Second = new("second", 0, 59);
    static readonly FieldSpec Minute = new("minute", 0, 59);
    static readonly FieldSpec Hour = new("hour", 0, 23);
    static readonly FieldSpec Dom = new("dom", 1, 31);
    static readonly FieldSpec Month = new("month", 1, 12, ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1);
    // 7 is accepted as Sunday, as classic cron does.
    static readonly FieldSpec Dow = new("dow", 0, 7, ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], 0);

    const int MaxFieldLength = 200;

    public static bool TryTranslate(CronJobFields fields, out string expression, out CronFieldError? error)
    {
        try
        {
            expression = Translate(fields);
            error = null;
            return true;
        }
        catch (CronFieldException ex)
        {
            expression = "";
            error = new CronFieldError(ex.Field, ex.Message);
            return false;
        }
    }

    static string Translate(CronJobFields f)
    {
        var second = Parse(Second, f.Second);
        var minute = Parse(Minute, f.Minute);
        var hour = Parse(Hour, f.Hour);
        var dom = Parse(Dom, f.Dom, allowQuestion: true);
        var month = Parse(Month, f.Month);
        var dow = Parse(Dow, f.Dow, allowQuestion: true);

        var days = dow.Values.Select(d => d % 7).ToHashSet();
        var domOpen = dom.Values.Count == 31;
        var dowOpen = days.Count == 7;
        if (!domOpen && !dowOpen)
            throw new CronFieldException(Dow.Name,
                $"'{f.Dow.Trim()}' restricts the day of week while dom '{f.Dom.Trim()}' restricts the day of month; Quartz cannot combine both, so set one of them to '*'.");

        string domText, dowText;
        if (domOpen)
            (domText, dowText) = dowOpen ? ("*", "?") : ("?", QuartzWeekdays(days));
        else
            (domText, dowText) = (dom.Text, "?");
        return $"{second.Text} {minute.Text} {hour.Text} {domText} {month.Text} {dowText}";
    }

    /// <summary>Sunday-based 0-6 → Quartz's 1-7, runs of three or more written as ranges.</summary>
    static string QuartzWeekdays(IEnumerable<int> days)
    {
        var quartz = days.Select(d => d + 1).Order().ToList();
        var parts = new List<string>();
        for (var i = 0; i < quartz.Count;)
        {
            var j = i;
            while (j + 1 < quartz.Count && quartz[j + 1] == quartz[j] + 1)
                j++;
            if (j - i >= 2)
                parts.Add($"{quartz[i]}-{quartz[j]}");
            else
                parts.AddRange(quartz[i..(j + 1)].Select(d => d.ToString(CultureInfo.InvariantCulture)));
            i = j + 1;
        }
        return string.Join(',', parts);
    }

    /// <summary>The values a field matches, and the field written for Quartz (numbers, no names).</summary>
    sealed record ParsedField(HashSet<int> Values, string Text);

    static ParsedField Parse(FieldSpec spec, string? raw, bool allowQuestion = false)
    {
        var text = raw?.Trim() ?? "";
        if (text.Length == 0)
            throw new CronFieldException(spec.Name, "is required (use '*' for every value).");
        if (text.Length > MaxFieldLength)
            throw new CronFieldException(spec.Name, $"is longer than {MaxFieldLength} characters.");
        if (allowQuestion && text == "?")
            text = "*";

        var values = new HashSet<int>();
        var items = new List<string>();
        foreach (var item in text.Split(','))
        {
            var (from, to, step, written) = ParseItem(spec, item.Trim(), text);
            for (var v = from; v <= to; v += step)
                values.Add(v);
            items.Add(written);
        }
        // A plain '*' in a list already matches everything.
        var quartz = items.Contains("*") ? "*" : string.Join(',', items);
        return new ParsedField(values, quartz);
    }

    static (int From, int To, int Step, string Written) ParseItem(FieldSpec spec, string item, string field)
    {
        if (item.Length == 0)
            throw new CronFieldException(spec.Name, $"'{field}' has an empty list item.");
        var slash = item.Split('/');
        if (slash.Length > 2)
            throw new CronFieldException(spec.Name, $"'{item}' has more than one '/'.");
        var step = 1;
        if (slash.Length == 2)
        {
            if (!int.TryParse(slash[1], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1 || step > spec.Max - spec.Min)
                throw new CronFieldException(spec.Name, $"'{item}' has step '{slash[1]}'; a step is a whole number from 1 to {spec.Max - spec.Min}.");
        }
        var range = slash[0];
        var stepText = slash.Length == 2 ? $"/{step}" : "";
        if (range == "*")
            return (spec.Min, spec.Max, step, "*" + stepText);
        var dash = range.Split('-');
        if (dash.Length > 2)
            throw new CronFieldException(spec.Name, $"'{item}' is not a value, a range a-b or '*'.");
        var from = Value(spec, dash[0], item);
        if (dash.Length == 1)
            // 'a/n' runs from a to the field's end, in classic cron and in Quartz alike.
            return slash.Length == 2 ? (from, spec.Max, step, $"{from}{stepText}") : (from, from, 1, $"{from}");
        var to = Value(spec, dash[1], item);
        if (from > to)
            throw new CronFieldException(spec.Name, $"'{item}' is a range that ends before it starts.");
        return (from, to, step, $"{from}-{to}{stepText}");
    }

    static int Value(FieldSpec spec, string text, string item)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
        {
            if (value < spec.Min || value > spec.Max)
                throw new CronFieldException(spec.Name, $"'{item}' has {value}, outside {spec.Min}-{spec.Max}.");
            return value;
        }
        var index = spec.Names is null ? -1 : Array.FindIndex(spec.Names, n => n.Equals(text, StringComparison.OrdinalIgnoreCase));
        if (index < 0)
        {
            var allowed = new StringBuilder($"numbers {spec.Min}-{spec.Max}");
            if (spec.Names is not null)
                allowed.Append($" or names {spec.Names[0]}-{spec.Names[^1]}");
            throw new CronFieldException(spec.Name, $"'{item}' is not valid here: use '*', {allowed}, lists a,b, ranges a-b and steps /n.");
        }
        return spec.NamesFrom + index;
    }

    sealed class CronFieldException(string field, string message) : Exception(message)
    {
        public string Field { get; } = field;
    }
}
