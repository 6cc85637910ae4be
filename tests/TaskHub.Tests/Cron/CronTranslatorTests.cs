using Quartz;
using TaskHub.Contracts.Cron;
using TaskHub.Scheduler.Cron;

namespace TaskHub.Tests.Cron;

/// <summary>Classic cron fields with seconds → Quartz, as a table (unit; no broker or database).</summary>
public sealed class CronTranslatorTests
{
    static CronJobFields Fields(string classic)
    {
        var f = classic.Split(' ');
        return new CronJobFields(f[0], f[1], f[2], f[3], f[4], f[5]);
    }

    [Theory]
    // every value, and Quartz's '?' on the open one of dom/dow
    [InlineData("* * * * * *", "* * * * * ?")]
    [InlineData("0 0 0 * * *", "0 0 0 * * ?")]
    [InlineData("0 0 0 * * ?", "0 0 0 * * ?")]
    [InlineData("0 0 0 ? * *", "0 0 0 * * ?")]
    // dow 0-6 from Sunday (7 is Sunday too) → Quartz 1-7 from Sunday; dom becomes '?'
    [InlineData("0 0 12 * * 0", "0 0 12 ? * 1")]
    [InlineData("0 0 12 * * 7", "0 0 12 ? * 1")]
    [InlineData("0 0 12 * * 6", "0 0 12 ? * 7")]
    [InlineData("0 30 9 * * 1-5", "0 30 9 ? * 2-6")]
    [InlineData("0 0 12 * * 0,6", "0 0 12 ? * 1,7")]
    [InlineData("0 0 12 * * 5-7", "0 0 12 ? * 1,6,7")]
    [InlineData("0 0 12 * * */2", "0 0 12 ? * 1,3,5,7")]
    [InlineData("0 0 12 * * 1-5/2", "0 0 12 ? * 2,4,6")]
    [InlineData("0 0 12 * * MON-FRI", "0 0 12 ? * 2-6")]
    [InlineData("0 0 12 * * sun,Sat", "0 0 12 ? * 1,7")]
    [InlineData("0 0 12 ? * 3", "0 0 12 ? * 4")]
    // a weekday field that covers the whole week restricts nothing
    [InlineData("0 0 0 * * 0-6", "0 0 0 * * ?")]
    [InlineData("0 0 0 * * 0-7", "0 0 0 * * ?")]
    [InlineData("0 0 0 15 * 0-6", "0 0 0 15 * ?")]
    // dom restricted: dow becomes '?'
    [InlineData("0 0 0 1 * *", "0 0 0 1 * ?")]
    [InlineData("0 0 0 1,15 * ?", "0 0 0 1,15 * ?")]
    [InlineData("0 0 6 1-7 * *", "0 0 6 1-7 * ?")]
    [InlineData("0 0 0 */10 * *", "0 0 0 */10 * ?")]
    [InlineData("0 0 0 1-31 * 1", "0 0 0 ? * 2")]
    // lists, ranges and steps pass through with Quartz's meaning (the same as classic cron's)
    [InlineData("*/5 * * * * *", "*/5 * * * * ?")]
    [InlineData("0 */15 * * * *", "0 */15 * * * ?")]
    [InlineData("0 0 8-18/2 * * *", "0 0 8-18/2 * * ?")]
    [InlineData("5/10 * * * * *", "5/10 * * * * ?")]
    [InlineData("1,2,30 * * * * *", "1,2,30 * * * * ?")]
    [InlineData("0 0-10/5,30 * * * *", "0 0-10/5,30 * * * ?")]
    [InlineData("0 0 9,12,18 * * *", "0 0 9,12,18 * * ?")]
    // months 1-12 or names (any case); names are written as numbers
    [InlineData("0 0 0 1 JAN,jul *", "0 0 0 1 1,7 ?")]
    [InlineData("0 0 0 1 1-3 *", "0 0 0 1 1-3 ?")]
    [InlineData("0 0 0 1 Oct-Dec *", "0 0 0 1 10-12 ?")]
    [InlineData("0 0 0 1 */3 *", "0 0 0 1 */3 ?")]
    public void Translates(string classic, string quartz)
    {
        Assert.True(CronTranslator.TryTranslate(Fields(classic), out var expression, out var error), error?.Message);
        Assert.Equal(quartz, expression);
        Assert.True(CronExpression.TryParse(expression, out _), $"Quartz refuses '{expression}'");
    }

    [Theory]
    [InlineData("0 0 12 * * 0", new[] { DayOfWeek.Sunday })]
    [InlineData("0 0 12 * * 7", new[] { DayOfWeek.Sunday })]
    [InlineData("0 0 12 * * 1-5", new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday })]
    [InlineData("0 0 12 * * 5-7", new[] { DayOfWeek.Friday, DayOfWeek.Saturday, DayOfWeek.Sunday })]
    [InlineData("0 0 12 * * */3", new[] { DayOfWeek.Sunday, DayOfWeek.Wednesday, DayOfWeek.Saturday })]
    [InlineData("0 0 12 * * tue,THU", new[] { DayOfWeek.Tuesday, DayOfWeek.Thursday })]
    public void Weekdays_fire_on_the_days_classic_cron_means(string classic, DayOfWeek[] days)
    {
        // .NET numbers DayOfWeek from Sunday = 0, as classic cron does: an independent reading of the fields.
        Assert.True(CronTranslator.TryTranslate(Fields(classic), out var expression, out _));
        var cron = new CronExpression(expression, TimeZoneInfo.Utc);
        var fires = new List<DateTimeOffset>();
        var at = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
        for (var i = 0; i < 21; i++)
            fires.Add(at = cron.GetNextValidTimeAfter(at)!.Value);

        Assert.All(fires, f => Assert.Equal(new TimeSpan(12, 0, 0), f.TimeOfDay));
        Assert.Equal(days.Order(), fires.Select(f => f.DayOfWeek).Distinct().Order());
    }

    [Fact]
    public void Day_of_month_and_month_fire_where_classic_cron_says()
    {
        Assert.True(CronTranslator.TryTranslate(Fields("30 15 6 1,15 FEB-MAR *"), out var expression, out _));
        var cron = new CronExpression(expression, TimeZoneInfo.Utc);
        var at = new DateTimeOffset(2026, 11, 23, 0, 0, 0, TimeSpan.Zero);
        var fires = Enumerable.Range(0, 5).Select(_ => at = cron.GetNextValidTimeAfter(at)!.Value).ToList();
        Assert.Equal(
            new[] { "2027-02-01", "2027-02-15", "2027-03-01", "2027-03-15", "2028-02-01" },
            fires.Select(f => f.ToString("yyyy-MM-dd")));
        Assert.All(fires, f => Assert.Equal(new TimeSpan(6, 15, 30), f.TimeOfDay));
    }

    [Theory]
    [InlineData("60 * * * * *", "second")]
    [InlineData("-1 * * * * *", "second")]
    [InlineData("? * * * * *", "second")]
    [InlineData("*/0 * * * * *", "second")]
    [InlineData("*/60 * * * * *", "second")]
    [InlineData("1,,2 * * * * *", "second")]
    [InlineData("L * * * * *", "second")]
    [InlineData("0 60 * * * *", "minute")]
    [InlineData("0 5-1 * * * *", "minute")]
    [InlineData("0 0 24 * * *", "hour")]
    [InlineData("0 0 1-2-3 * * *", "hour")]
    [InlineData("0 0 1/2/3 * * *", "hour")]
    [InlineData("0 0 0 0 * *", "dom")]
    [InlineData("0 0 0 32 * *", "dom")]
    [InlineData("0 0 0 L * *", "dom")]
    [InlineData("0 0 0 15W * *", "dom")]
    [InlineData("0 0 0 * 0 *", "month")]
    [InlineData("0 0 0 * 13 *", "month")]
    [InlineData("0 0 0 * FOO *", "month")]
    [InlineData("0 0 0 * * 8", "dow")]
    [InlineData("0 0 0 * * MONDAY", "dow")]
    [InlineData("0 0 0 * * 1#2", "dow")]
    [InlineData("0 0 0 * * 5L", "dow")]
    // Classic cron fires when either restricted day field matches; one Quartz expression cannot say that.
    [InlineData("0 0 0 1 * 1", "dow")]
    [InlineData("0 0 0 1-5 * MON-FRI", "dow")]
    public void Refuses_naming_the_field(string classic, string field)
    {
        Assert.False(CronTranslator.TryTranslate(Fields(classic), out _, out var error));
        Assert.Equal(field, error!.Field);
        Assert.False(string.IsNullOrWhiteSpace(error.Message));
    }

    [Fact]
    public void Trims_fields()
    {
        Assert.True(CronTranslator.TryTranslate(new CronJobFields(" 0 ", "0", " 0", "* ", "*", " * "), out var expression, out _));
        Assert.Equal("0 0 0 * * ?", expression);
    }

    [Fact]
    public void Refuses_an_empty_field()
    {
        Assert.False(CronTranslator.TryTranslate(new CronJobFields("0", "0", "", "*", "*", "*"), out _, out var error));
        Assert.Equal("hour", error!.Field);
    }
}
