using System.Reflection;
using MassTransit;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using TaskHub.Hosting.Outbox;
using TaskHub.Scheduler.Outbox;

namespace TaskHub.Scheduler.Persistence.Sagas;

/// <summary>
/// The saga's table as the EF model maps it (names, column types, the <c>xmin</c> row version), turned
/// once into the three statements a saga event needs. Each statement returns the new row version, or no
/// row when the version it expected is gone (or, for an insert, when the row already exists).
/// </summary>
sealed class SagaTable<TSaga> where TSaga : class, ISaga
{
    // RelationalTypeMapping.CreateParameter wants a command only to call its CreateParameter().
    static readonly NpgsqlCommand ParameterFactory = new();

    readonly Column key;
    readonly Column version;
    readonly Column[] data;
    readonly string insertSql;
    readonly string updateSql;
    readonly string deleteSql;

    public SagaTable(DbContext db)
    {
        var entity = db.Model.FindEntityType(typeof(TSaga))
            ?? throw new InvalidOperationException($"{typeof(TSaga).Name} is not in the model of {db.GetType().Name}");
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();

        var keyProperty = entity.FindPrimaryKey()!.Properties.Single();
        var versionProperty = entity.GetProperties().Single(p => p.IsConcurrencyToken && p.ValueGenerated == ValueGenerated.OnAddOrUpdate);
        Column ColumnOf(IProperty p) => new(sql.DelimitIdentifier(p.GetColumnName(table)!), p.GetRelationalTypeMapping(), p.IsNullable, p.PropertyInfo!);
        key = ColumnOf(keyProperty);
        version = ColumnOf(versionProperty);
        data = entity.GetProperties().Where(p => p != keyProperty && p != versionProperty).Select(ColumnOf).ToArray();

        var name = sql.DelimitIdentifier(table.Name, table.Schema);
        var columns = data.Prepend(key).ToArray();
        insertSql = $"INSERT INTO {name} ({string.Join(", ", columns.Select(c => c.Name))}) " +
                    $"VALUES ({string.Join(", ", columns.Select((_, i) => $"${i + 1}"))}) ON CONFLICT DO NOTHING RETURNING {version.Name}";
        updateSql = $"UPDATE {name} SET {string.Join(", ", data.Select((c, i) => $"{c.Name} = ${i + 2}"))} " +
                    $"WHERE {key.Name} = $1 AND {version.Name} = ${data.Length + 2} RETURNING {version.Name}";
        deleteSql = $"DELETE FROM {name} WHERE {key.Name} = $1 AND {version.Name} = $2 RETURNING {version.Name}";
    }

    /// <summary>
    /// The write's statement. With outbox messages it becomes one statement that writes the row and,
    /// only when that write went through, the messages: a lost race writes neither.
    /// </summary>
    public NpgsqlBatchCommand Command(SagaWrite<TSaga> write, OutboxTable outbox)
    {
        var sql = write.Kind switch
        {
            SagaWriteKind.Insert => insertSql,
            SagaWriteKind.Update => updateSql,
            _ => deleteSql,
        };
        var command = new NpgsqlBatchCommand();
        command.Parameters.Add(key.Parameter(write.Saga));
        if (write.Kind != SagaWriteKind.Delete)
            foreach (var column in data)
                command.Parameters.Add(column.Parameter(write.Saga));
        if (write.Kind != SagaWriteKind.Insert)
            command.Parameters.Add(version.Parameter(write.Saga));
        if (write.Messages is { Count: > 0 } messages)
        {
            var (insert, parameters) = outbox.Insert(messages, command.Parameters.Count + 1, onlyIfRowsIn: "written");
            command.Parameters.AddRange(parameters);
            sql = $"WITH written AS ({sql}), staged AS ({insert}) SELECT {version.Name} FROM written";
        }
        command.CommandText = sql;
        return command;
    }

    /// <summary>The values a write would store, to tell whether an event changed anything.</summary>
    public object?[] Snapshot(TSaga saga) => data.Select(c => c.Property.GetValue(saga)).ToArray();

    public bool Changed(TSaga saga, object?[] snapshot)
    {
        for (var i = 0; i < data.Length; i++)
            if (!Equals(data[i].Property.GetValue(saga), snapshot[i]))
                return true;
        return false;
    }

    public void SetVersion(TSaga saga, uint value) => version.Property.SetValue(saga, value);

    sealed record Column(string Name, RelationalTypeMapping Mapping, bool Nullable, PropertyInfo Property)
    {
        public NpgsqlParameter Parameter(TSaga saga) =>
            (NpgsqlParameter)Mapping.CreateParameter(ParameterFactory, "", Property.GetValue(saga), Nullable);
    }
}

enum SagaWriteKind { Insert, Update, Delete }

/// <summary>One row to write, with the outbox messages that must follow it (none: null).</summary>
readonly record struct SagaWrite<TSaga>(SagaWriteKind Kind, TSaga Saga, IReadOnlyList<OutboxMessage>? Messages = null);
